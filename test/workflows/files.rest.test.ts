// Remote files in runs: sys.files, and an LLM node's vision parts. Uploaded files are not offered yet.
// Images are fetched by the gateway (test/files/remote-images.test.ts has the outbound policy's refusals).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { PICTURE, startImageServer, type ImageServer } from "../support/image-server.js";
import { readSse } from "../support/sse.js";
import { startTestServer, type TestServer } from "../support/server.js";

const DATA_URL = `data:image/png;base64,${PICTURE.toString("base64")}`;
// The pictures' server: on a loopback address the gateway is allowed to reach (OUTBOUND_ALLOW).
const ALLOWED = { OUTBOUND_ALLOW: "127.0.0.2" };
let images: ImageServer;
beforeAll(async () => {
  images = await startImageServer("127.0.0.2");
});
afterAll(async () => {
  await images?.close();
});

describe("files in workflow runs", () => {
  let fake: FakeOpenAI;
  let s: TestServer;
  let passport: string;
  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => "a cat" });
    s = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl, ...ALLOWED });
    passport = await s.passport((await s.importApp("workflows/workflow-describe-image.yml")).code);
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });

  const run = (files: unknown) =>
    s.api("/workflows/run", { method: "POST", passport, headers: { "content-type": "application/json" }, body: JSON.stringify({ inputs: {}, files }) });

  it("puts remote files in sys.files and sends images to a vision LLM node as image parts", async () => {
    const url = images.url("/pets/cat.png");
    const { events } = await readSse(await run([{ type: "image", transfer_method: "remote_url", url }]));
    expect(events.at(-1).data).toMatchObject({ status: "succeeded", outputs: { text: "a cat" } });
    const sysFiles = events[0].data.inputs["sys.files"];
    expect(sysFiles).toEqual([expect.objectContaining({ dify_model_identity: "__dify__file__", type: "image", transfer_method: "remote_url", url, filename: "cat.png", extension: ".png" })]);
    expect(fake.requests.at(-1)!.body.messages).toEqual([
      { role: "system", content: "Describe images." },
      { role: "user", content: [{ type: "text", text: "What is in the picture?" }, { type: "image_url", image_url: { url: DATA_URL, detail: "low" } }] },
    ]);
  });

  it("sends plain text when there are no images", async () => {
    const { events } = await readSse(await run([]));
    expect(events.at(-1).data.status).toBe("succeeded");
    expect(fake.requests.at(-1)!.body.messages.at(-1)).toEqual({ role: "user", content: "What is in the picture?" });
  });

  it("refuses references to uploads that do not exist, and bad URLs, before the run starts", async () => {
    const local = await run([{ type: "image", transfer_method: "local_file", upload_file_id: "00000000-0000-4000-8000-000000000000" }]);
    expect(local.status).toBe(400);
    expect(await local.json()).toMatchObject({ code: "invalid_param", params: "files[0]" });
    expect((await run([{ type: "image", transfer_method: "remote_url", url: "file:///etc/passwd" }])).status).toBe(400);
    expect((await run("not a list")).status).toBe(400);
  });
});

describe("file inputs of a start node", () => {
  it("become File values, and a malformed upload reference is refused naming the variable", async () => {
    const s = await startTestServer("pglite");
    try {
      const passport = await s.passport((await s.importApp("dsl-corpus/workflow-file-inputs-llm-tongyi.yml")).code);
      const post = (inputs: object) =>
        s.api("/workflows/run", { method: "POST", passport, headers: { "content-type": "application/json" }, body: JSON.stringify({ inputs }) });
      const remote = (url: string, type: string) => ({ type, transfer_method: "remote_url", url });
      const { events } = await readSse(await post({ doc: remote("https://example.com/a.pdf", "document"), picture: remote("https://example.com/b.jpg", "image") }));
      expect(events[0].data.inputs.doc).toMatchObject({ dify_model_identity: "__dify__file__", filename: "a.pdf", type: "document" });
      expect(events[0].data.inputs.picture).toMatchObject({ filename: "b.jpg", type: "image" });
      const local = await post({ doc: { type: "document", transfer_method: "local_file", upload_file_id: "x" }, picture: remote("https://example.com/b.jpg", "image") });
      expect(local.status).toBe(400);
      expect(await local.json()).toMatchObject({ code: "invalid_param", params: "doc" });
    } finally {
      await s.close();
    }
  });
});

describe("images in chat apps", () => {
  it("go to the model when the app allows image upload, and are kept as the message's files", async () => {
    const fake = await startFakeOpenAI({ reply: () => "nice photo" });
    const s = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl, ...ALLOWED });
    try {
      const passport = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
      const url = images.url("/kyoto.png");
      const res = await s.api("/chat-messages", {
        method: "POST",
        passport,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "Where is this?", inputs: { traveller: "Ana", destination: "Kyoto" }, files: [{ type: "image", transfer_method: "remote_url", url }] }),
      });
      const body = await res.json();
      expect(body.answer).toBe("nice photo");
      expect(fake.requests.at(-1)!.body.messages.at(-1)).toEqual({
        role: "user",
        content: [{ type: "text", text: "Where is this?" }, { type: "image_url", image_url: { url: DATA_URL, detail: "high" } }],
      });
      const list = await (await s.api(`/messages?conversation_id=${body.conversation_id}`, { passport })).json();
      expect(list.data[0].message_files).toEqual([expect.objectContaining({ type: "image", url, transfer_method: "remote_url", belongs_to: "user" })]);
      // An app without image upload keeps the model's prompt text-only.
      const plain = await s.passport((await s.importApp("dsl-corpus/chat-code-interpreter.yml")).code);
      await s.api("/chat-messages", {
        method: "POST",
        passport: plain,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "explain", inputs: {}, files: [{ type: "image", transfer_method: "remote_url", url }] }),
      });
      expect(fake.requests.at(-1)!.body.messages.at(-1)).toEqual({ role: "user", content: "explain" });
    } finally {
      await s.close();
      await fake.close();
    }
  });
});

describe("images in chat apps over GraphQL", () => {
  it("reach the model as typed FileInputs and come back as the message's typed files", async () => {
    const fake = await startFakeOpenAI({ reply: () => "nice photo" });
    const s = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl, ...ALLOWED });
    try {
      const passport = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
      const url = images.url("/kyoto.png");
      const sent = await s.graphql(
        `mutation($i: ChatMessageInput!) { sendChatMessage(input: $i) { ... on GenerationResult { answer message { files { type url transferMethod belongsTo } } } } }`,
        { i: { query: "Where is this?", inputs: { traveller: "Ana", destination: "Kyoto" }, files: [{ type: "IMAGE", transferMethod: "REMOTE_URL", url }] } },
        { authorization: `Bearer ${passport}` },
      );
      expect(sent.data.sendChatMessage).toEqual({
        answer: "nice photo",
        message: { files: [{ type: "image", url, transferMethod: "remote_url", belongsTo: "user" }] },
      });
      expect(fake.requests.at(-1)!.body.messages.at(-1)).toEqual({
        role: "user",
        content: [{ type: "text", text: "Where is this?" }, { type: "image_url", image_url: { url: DATA_URL, detail: "high" } }],
      });
    } finally {
      await s.close();
      await fake.close();
    }
  });
});
