// Remote images (`remote_url` files) go through the outbound policy: the gateway fetches them itself and
// the model gets a data URL. Private destinations, and URLs that do not give a picture, are the
// request's 4xx before any model call or write, on both surfaces, for chat apps and workflow runs.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { gqlSse } from "../support/graphql.js";
import { PICTURE, startImageServer, type ImageServer } from "../support/image-server.js";
import { readSse } from "../support/sse.js";
import { startTestServer, type TestServer } from "../support/server.js";

const DATA_URL = `data:image/png;base64,${PICTURE.toString("base64")}`;
const inputs = { traveller: "Ana", destination: "Kyoto" };
const SEND = `mutation($i: ChatMessageInput!) { sendChatMessage(input: $i) { __typename ... on GenerationResult { answer saved: message { files { url } } } ... on AppError { code status params message } } }`;
const RUN = `subscription($i: WorkflowRunInput!) { workflowRun(input: $i) { __typename ... on WorkflowFinished { runStatus: status } ... on AppError { code status params message } } }`;

/** A port on `host` that nothing listens on. */
async function closedPort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("remote images", () => {
  let fake: FakeOpenAI;
  let images: ImageServer;
  let s: TestServer;
  let chatPassport: string;
  let workflowPassport: string;
  let chatflowPassport: string;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => "a cat" });
    // The pictures are served on 127.0.0.2, the one loopback address the gateway is allowed to reach;
    // 127.0.0.1 (where the model and this test's other servers are) stays refused.
    images = await startImageServer("127.0.0.2");
    s = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl, OUTBOUND_ALLOW: "127.0.0.2", REMOTE_FILE_MAX_BYTES: "16384" });
    chatPassport = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
    workflowPassport = await s.passport((await s.importApp("workflows/workflow-describe-image.yml")).code);
    chatflowPassport = await s.passport((await s.importApp("workflows/chatflow-see-picture.yml")).code);
  });
  afterAll(async () => {
    await s?.close();
    await images?.close();
    await fake?.close();
  });

  const image = (url: string) => ({ type: "image", transfer_method: "remote_url", url });
  const post = (path: string, passport: string, body: object) =>
    s.api(path, { method: "POST", passport, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const writes = async () => ({
    messages: await s.rt.db.message.count(),
    conversations: await s.rt.db.conversation.count(),
    runs: await s.rt.db.workflowRun.count(),
  });

  /** The same image sent four ways: chat and workflow run, REST and GraphQL. */
  async function sendEveryWay(url: string) {
    const restChat = await post("/chat-messages", chatPassport, { query: "Where is this?", inputs, response_mode: "streaming", files: [image(url)] });
    const restRun = await post("/workflows/run", workflowPassport, { inputs: {}, response_mode: "streaming", files: [image(url)] });
    const gqlChat = await s.graphql(SEND, { i: { query: "Where is this?", inputs, files: [{ type: "IMAGE", transferMethod: "REMOTE_URL", url }] } }, { authorization: `Bearer ${chatPassport}` });
    const gqlRun = await gqlSse(s, RUN, { i: { inputs: {}, files: [{ type: "IMAGE", transferMethod: "REMOTE_URL", url }] } }, { token: workflowPassport });
    return {
      rest: [
        { status: restChat.status, body: await restChat.json() },
        { status: restRun.status, body: await restRun.json() },
      ],
      graphql: [gqlChat.data?.sendChatMessage, ...gqlRun],
    };
  }

  /** Refused alike on every way in, before the model is called or anything is written. */
  async function expectRefusedEveryWay(url: string, code: string, status: number, message?: RegExp) {
    const modelCalls = fake.requests.length;
    const before = await writes();
    const { rest, graphql } = await sendEveryWay(url);
    for (const r of rest) {
      expect(r.status).toBe(status);
      expect(r.body).toMatchObject({ code, status, params: "files[0]" });
      if (message) expect(r.body.message).toMatch(message);
    }
    expect(graphql).toEqual([
      expect.objectContaining({ __typename: "AppError", code, status, params: "files[0]" }),
      expect.objectContaining({ __typename: "AppError", code, status, params: "files[0]" }),
    ]);
    expect(fake.requests.length).toBe(modelCalls);
    expect(await writes()).toEqual(before);
  }

  it.each([
    ["127.0.0.1", () => "http://127.0.0.1:8080/cat.png"],
    ["localhost", () => "http://localhost:8080/cat.png"],
    ["[::1]", () => "http://[::1]:8080/cat.png"],
    ["a 10.x address", () => "http://10.1.2.3/cat.png"],
    ["the metadata address", () => "http://169.254.169.254/latest/meta-data/iam/security-credentials/"],
    ["a redirect to a private address", () => images.url(`/redirect?to=${encodeURIComponent("http://10.0.0.5/cat.png")}`)],
    ["a redirect to the metadata address", () => images.url(`/redirect?to=${encodeURIComponent("http://169.254.169.254/latest/meta-data/")}`)],
  ])("refuses %s with a 400", async (_name, url) => {
    await expectRefusedEveryWay(url(), "remote_file_upload_error", 400, /Refused to connect/);
  });

  it("refuses an unreachable URL, a non-200 answer, a body over the cap and a page that is not a picture", async () => {
    await expectRefusedEveryWay(`http://127.0.0.2:${await closedPort("127.0.0.2")}/cat.png`, "remote_file_upload_error", 400, /ECONNREFUSED/);
    await expectRefusedEveryWay(images.url("/missing.png"), "remote_file_upload_error", 400, /answered 404/);
    await expectRefusedEveryWay(images.url("/huge.png"), "file_too_large", 413);
    await expectRefusedEveryWay(images.url("/page.html"), "unsupported_file_type", 415, /text\/html/);
  });

  it("fetches an allowed image itself and sends the model its bytes as a data URL, on both surfaces", async () => {
    const url = images.url("/pets/cat.png");
    const lastUserContent = () => fake.requests.at(-1)!.body.messages.at(-1).content;
    const calls = fake.requests.length;

    const chat = await post("/chat-messages", chatPassport, { query: "Where is this?", inputs, files: [image(url)] });
    expect(chat.status).toBe(200);
    const body = await chat.json();
    expect(lastUserContent()).toEqual([{ type: "text", text: "Where is this?" }, { type: "image_url", image_url: { url: DATA_URL, detail: "high" } }]);
    // The message keeps the URL the user gave; the stored prompt names it, not its bytes.
    const list = await (await s.api(`/messages?conversation_id=${body.conversation_id}`, { passport: chatPassport })).json();
    expect(list.data[0].message_files).toEqual([expect.objectContaining({ url, transfer_method: "remote_url" })]);
    const stored = await s.rt.db.message.findUniqueOrThrow({ where: { id: body.message_id } });
    expect(JSON.stringify(stored.message)).toContain(url);
    expect(JSON.stringify(stored.message)).not.toContain("base64");

    const sent = await s.graphql(SEND, { i: { query: "Where is this?", inputs, files: [{ type: "IMAGE", transferMethod: "REMOTE_URL", url }] } }, { authorization: `Bearer ${chatPassport}` });
    expect(sent.errors).toBeUndefined();
    expect(sent.data.sendChatMessage).toEqual({ __typename: "GenerationResult", answer: "a cat", saved: { files: [{ url }] } });
    expect(lastUserContent()).toEqual([{ type: "text", text: "Where is this?" }, { type: "image_url", image_url: { url: DATA_URL, detail: "high" } }]);

    const { events } = await readSse(await post("/workflows/run", workflowPassport, { inputs: {}, response_mode: "streaming", files: [image(url)] }));
    expect(events.at(-1).data).toMatchObject({ status: "succeeded", outputs: { text: "a cat" } });
    expect(events[0].data.inputs["sys.files"]).toEqual([expect.objectContaining({ url, remote_url: url })]);
    expect(lastUserContent()).toEqual([{ type: "text", text: "What is in the picture?" }, { type: "image_url", image_url: { url: DATA_URL, detail: "low" } }]);

    const run = await gqlSse(s, RUN, { i: { inputs: {}, files: [{ type: "IMAGE", transferMethod: "REMOTE_URL", url }] } }, { token: workflowPassport });
    expect(run.at(-1)).toEqual({ __typename: "WorkflowFinished", runStatus: "succeeded" });
    expect(lastUserContent()).toEqual([{ type: "text", text: "What is in the picture?" }, { type: "image_url", image_url: { url: DATA_URL, detail: "low" } }]);

    expect(fake.requests.length).toBe(calls + 4);
    expect(images.requests.filter((p) => p === "/pets/cat.png")).toHaveLength(4);
  });

  it("fetches a chatflow's file inputs before its turn is written, refused or sent as a data URL", async () => {
    const modelCalls = fake.requests.length;
    const before = await writes();
    const refused = await post("/chat-messages", chatflowPassport, { query: "What is it?", inputs: { picture: image("http://169.254.169.254/latest/meta-data/") } });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ code: "remote_file_upload_error", status: 400, params: "picture" });
    const gql = await s.graphql(SEND, { i: { query: "What is it?", inputs: { picture: image("http://127.0.0.1:8080/cat.png") } } }, { authorization: `Bearer ${chatflowPassport}` });
    expect(gql.data.sendChatMessage).toMatchObject({ __typename: "AppError", code: "remote_file_upload_error", params: "picture" });
    expect(fake.requests.length).toBe(modelCalls);
    expect(await writes()).toEqual(before);

    const ok = await post("/chat-messages", chatflowPassport, { query: "What is it?", inputs: { picture: image(images.url("/cat.png")) } });
    expect(ok.status).toBe(200);
    expect((await ok.json()).answer).toBe("a cat");
    expect(fake.requests.at(-1)!.body.messages.at(-1).content).toEqual([
      { type: "text", text: "What is it?" },
      { type: "image_url", image_url: { url: DATA_URL, detail: "high" } },
    ]);
  });
});
