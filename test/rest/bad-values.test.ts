// Values the fuzz test (test/fuzz) found answered with a 500 or an internal error: text PostgreSQL
// cannot store in names, feedback, inputs and form answers, JSON nested past any walk, and objects
// where file fields want strings. Each is the client's 400 now, on both surfaces, before any write.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { capturingLogger, LEVEL, type LogLine } from "../support/log.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { readSse } from "../support/sse.js";

const FILES_WORKFLOW = `app: { name: Files, mode: workflow }
kind: app
version: 0.6.0
workflow:
  features: { file_upload: { enabled: true, allowed_file_types: [image], allowed_file_upload_methods: [remote_url] } }
  graph:
    nodes:
    - { id: start, data: { type: start, title: Start, variables: [] } }
    - { id: end, data: { type: end, title: End, outputs: [{ variable: files, value_selector: [sys, files] }] } }
    edges:
    - { id: a, source: start, sourceHandle: source, target: end }
`;

const deep = (n: number) => '{"a":'.repeat(n) + "1" + "}".repeat(n);

describe.each(backends)("values that cannot be stored, on %s", (backend) => {
  let fake: FakeOpenAI;
  let s: TestServer;
  let lines: LogLine[];
  let chat: { code: string; token: string };
  let conversationId: string;
  let messageId: string;
  const inputs = { traveller: "Ana", destination: "Kyoto" };
  const post = (path: string, token: string, body: string) => s.api(path, { method: "POST", passport: token, headers: { "content-type": "application/json" }, body });
  const gql = (query: string, variables: Record<string, unknown>, token?: string) => s.graphql(query, variables, token ? { authorization: `Bearer ${token}` } : {});
  let mark = 0;
  beforeEach(() => void (mark = lines.length));
  /** What this test made the server log at error level. */
  const errors = () => lines.slice(mark).filter((l) => l.level >= LEVEL.error);

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => "fine" });
    const capture = capturingLogger("warn");
    lines = capture.lines;
    s = await startTestServer(backend, { OPENAI_BASE_URL: fake.baseUrl }, capture.log);
    const { code } = await s.importApp("apps/chat-travel-planner.yml");
    chat = { code, token: await s.passport(code) };
    const first = await (await post("/chat-messages", chat.token, JSON.stringify({ query: "Hello", inputs }))).json();
    conversationId = first.conversation_id;
    messageId = first.id;
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });

  it("refuses a user_id longer than Dify's 255 characters (the index cannot take ~2.7 kB)", async () => {
    const res = await s.api(`/passport?user_id=${"u".repeat(3_000)}`, { appCode: chat.code });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "invalid_param", params: "user_id" });
    const gqlRes = await gql(`mutation($c: String!, $u: String) { passport(appCode: $c, userId: $u) { __typename ... on AppError { code params } } }`, { c: chat.code, u: "u".repeat(300_000) });
    expect(gqlRes.data.passport).toEqual({ __typename: "AppError", code: "invalid_param", params: "user_id" });
    expect((await s.api(`/passport?user_id=${"u".repeat(255)}`, { appCode: chat.code })).status).toBe(200);
    expect(errors()).toEqual([]);
  });

  it("refuses a conversation name with NUL or a lone surrogate", async () => {
    const res = await post(`/conversations/${conversationId}/name`, chat.token, JSON.stringify({ name: "a\u0000b" }));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "invalid_param", params: "name" });
    const gqlRes = await gql(`mutation($id: ID!, $n: String) { renameConversation(id: $id, name: $n) { __typename ... on AppError { code params } } }`, { id: conversationId, n: "x\ud800" }, chat.token);
    expect(gqlRes.data.renameConversation).toEqual({ __typename: "AppError", code: "invalid_param", params: "name" });
    expect(errors()).toEqual([]);
  });

  it("refuses feedback content with NUL or a lone surrogate", async () => {
    const res = await post(`/messages/${messageId}/feedbacks`, chat.token, JSON.stringify({ rating: "like", content: "\u0000" }));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "invalid_param", params: "content" });
    const gqlRes = await gql(`mutation($m: ID!, $c: String) { rateMessage(messageId: $m, rating: LIKE, content: $c) { __typename ... on AppError { code params } } }`, { m: messageId, c: "\udfff" }, chat.token);
    expect(gqlRes.data.rateMessage).toEqual({ __typename: "AppError", code: "invalid_param", params: "content" });
    expect(errors()).toEqual([]);
  });

  it("refuses inputs with a lone surrogate before calling the model, naming the variable", async () => {
    const before = fake.requests.length;
    // The raw body carries the escape, as a client's JSON encoder writes a lone surrogate.
    const res = await post("/chat-messages", chat.token, '{"query":"hi","inputs":{"traveller":"Ana","destination":"Kyoto","notes":"\\ud800"}}');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "invalid_param", params: "notes" });
    const gqlRes = await gql(
      `mutation($i: ChatMessageInput!) { sendChatMessage(input: $i) { __typename ... on AppError { code params } } }`,
      { i: { query: "hi", inputs: { ...inputs, traveller: "\udc00" } } },
      chat.token,
    );
    expect(gqlRes.data.sendChatMessage).toEqual({ __typename: "AppError", code: "invalid_param", params: "traveller" });
    expect(fake.requests.length).toBe(before);
    expect(errors()).toEqual([]);
  });

  it("refuses file references whose type or url is not a string, or whose url holds NUL", async () => {
    const before = fake.requests.length;
    const files = (file: object) => JSON.stringify({ query: "what is this?", inputs, files: [file] });
    for (const [file, params] of [
      [{ type: "image", transfer_method: "remote_url", url: { toString: "x" } }, "files[0]"],
      [{ type: { toString: 1 }, transfer_method: "remote_url", url: "https://example.com/a.png" }, "files[0]"],
      [{ type: "image", transfer_method: "remote_url", url: "https://example.com/\u0000.png" }, "files[0].url"],
    ] as const) {
      const res = await post("/chat-messages", chat.token, files(file));
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: "invalid_param", params });
    }
    const gqlRes = await gql(
      `mutation($i: ChatMessageInput!) { sendChatMessage(input: $i) { __typename ... on AppError { code params } } }`,
      { i: { query: "hi", inputs, files: [{ type: "IMAGE", transferMethod: "REMOTE_URL", url: "https://example.com/\u0000.png" }] } },
      chat.token,
    );
    expect(gqlRes.data.sendChatMessage).toMatchObject({ __typename: "AppError", code: "invalid_param" });
    expect(fake.requests.length).toBe(before);
    expect(errors()).toEqual([]);
  });

  it("takes a file URL whose name percent-decodes to NUL, keeping the name as written", async () => {
    // A workflow that answers with its files saves their names in the run's outputs (a JSON column).
    const app = await s.importApp(FILES_WORKFLOW);
    const passport = await s.passport(app.code);
    const file = { type: "image", transfer_method: "remote_url", url: "https://example.com/%00.png" };
    const { events } = await readSse(await post("/workflows/run", passport, JSON.stringify({ inputs: {}, files: [file] })));
    expect(events.at(-1)).toMatchObject({ event: "workflow_finished", data: { status: "succeeded", outputs: { files: [{ filename: "%00.png" }] } } });
    expect(errors()).toEqual([]);
  });

  describe("human input answers", () => {
    async function pausedForm() {
      const app = await s.importApp("workflows/workflow-approval-form.yml");
      const passport = await s.passport(app.code);
      const { events } = await readSse(await post("/workflows/run", passport, JSON.stringify({ inputs: { request: "a laptop" } })));
      return events.find((e) => e.event === "human_input_required").data.form_token as string;
    }
    const submit = (token: string, body: string) => s.api(`/form/human_input/${token}`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const submitGql = (token: string, action: unknown, inputs: unknown) =>
      gql(`mutation($t: String!, $a: String!, $i: JSON) { submitHumanInput(token: $t, action: $a, inputs: $i) { __typename ... on AppError { code params status } } }`, { t: token, a: action, i: inputs });

    it("refuses answers with a lone surrogate or nested too deep, and leaves the form open", async () => {
      const token = await pausedForm();
      const surrogate = await submit(token, '{"action":"yes","inputs":{"reason":"\\ud800","note":""}}');
      expect(surrogate.status).toBe(400);
      expect(await surrogate.json()).toMatchObject({ code: "invalid_param", params: "inputs" });
      const nested = await submit(token, `{"action":"yes","inputs":{"reason":"ok","note":${deep(100_000)}}}`);
      expect(nested.status).toBe(400);
      expect(await nested.json()).toMatchObject({ code: "invalid_param", params: "inputs" });
      const viaGql = await submitGql(token, "yes", { reason: "ok", note: "\udc00" });
      expect(viaGql.data.submitHumanInput).toEqual({ __typename: "AppError", code: "invalid_param", params: "inputs", status: 400 });
      const deepGql = await fetch(`${s.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: `{"query":"mutation($t: String!, $i: JSON) { submitHumanInput(token: $t, action: \\"yes\\", inputs: $i) { __typename ... on AppError { code params } } }","variables":{"t":"${token}","i":{"reason":"ok","note":${deep(100_000)}}}}`,
      });
      // GraphQL refuses it as a variable that is not a JSON value it takes (JSON arguments nest at most 64 deep).
      expect(deepGql.status).toBe(400);
      expect((await deepGql.json()).errors[0]).toMatchObject({ extensions: { code: "BAD_USER_INPUT" } });
      // Nothing was written: the form still takes a good answer.
      expect((await submit(token, JSON.stringify({ action: "yes", inputs: { reason: "ok", note: "" } }))).status).toBe(200);
      expect(errors()).toEqual([]);
    });

    it("refuses an action that is an object with its own toString", async () => {
      const token = await pausedForm();
      const res = await submit(token, '{"action":{"toString":"yes"},"inputs":{}}');
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: "invalid_form_data", message: "Invalid action: an object" });
      expect(errors()).toEqual([]);
    });
  });
});
