// Uploaded files in generation, on both surfaces: a local image reaches the model as an image part built
// from the stored bytes; the message keeps its files (message_end, GET /messages, Message.files) with
// signed URLs that open them; another end user's upload is the request's 400 and never reaches the
// model; the app's file_upload rules (types, methods, number limits) hold; workflows read uploads in
// file inputs (document-extractor) and sys.files (vision); chatflows and completions take them too. On
// local disk (each database) and on S3.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { gqlSse } from "../support/graphql.js";
import { PICTURE, startImageServer, type ImageServer } from "../support/image-server.js";
import { readSse } from "../support/sse.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { form } from "../support/uploads.js";
import { startS3Server, type S3TestServer } from "../support/s3-server.js";

const DATA_URL = `data:image/png;base64,${PICTURE.toString("base64")}`;

const COMPLETION_APP = `
app: { mode: completion, name: Describe }
kind: app
version: 0.4.0
model_config:
  file_upload: { enabled: true, allowed_file_types: [image], allowed_file_upload_methods: [local_file], number_limits: 1 }
  model: { mode: chat, name: gpt-4o-mini, provider: openai }
  more_like_this: { enabled: true }
  pre_prompt: "Describe it."
  user_input_form: []
`;

const CHATFLOW = `
app: { mode: advanced-chat, name: Look at uploads }
kind: app
version: 0.6.0
workflow:
  features: { file_upload: { enabled: true, allowed_file_types: [image], allowed_file_upload_methods: [local_file] } }
  graph:
    nodes:
    - { id: start, data: { type: start, title: Start, variables: [] } }
    - id: llm
      data:
        type: llm
        title: LLM
        model: { provider: openai, name: gpt-4o-mini, mode: chat, completion_params: {} }
        prompt_template: [{ role: user, text: "{{#sys.query#}}" }]
        vision: { enabled: true, configs: { variable_selector: [sys, files], detail: high } }
    - { id: answer, data: { type: answer, title: Answer, answer: "{{#llm.text#}} {{#sys.files#}}" } }
    edges:
    - { id: a, source: start, sourceHandle: source, target: llm }
    - { id: b, source: llm, sourceHandle: source, target: answer }
`;

const NO_FILES_APP = `
app: { mode: chat, name: Words only }
kind: app
version: 0.4.0
model_config:
  model: { mode: chat, name: gpt-4o-mini, provider: openai }
  pre_prompt: "Answer."
  user_input_form: []
`;

const SEND = `mutation($i: ChatMessageInput!) { sendChatMessage(input: $i) { __typename
  ... on GenerationResult { answer saved: message { id files { id filename type url mimeType size transferMethod belongsTo uploadFileId } } }
  ... on AppError { code status params message } } }`;
const UPLOAD = `mutation($file: Upload!) { uploadFile(file: $file) { __typename ... on UploadFilePayload { file { id url } } ... on AppError { code message } } }`;
const RUN = `subscription($i: WorkflowRunInput!) { workflowRun(input: $i) { __typename
  ... on WorkflowFinished { runStatus: status outputs error } ... on AppError { code status params message } } }`;

async function pdf(text: string): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  doc.addPage().drawText(text, { x: 50, y: 700, font, size: 12 });
  return Buffer.from(await doc.save());
}

/** The image parts of the last user message the model was sent. */
function imagePartsSent(fake: FakeOpenAI): string[] {
  const last = fake.requests.at(-1)!.body.messages.findLast((m: any) => m.role === "user");
  return Array.isArray(last.content) ? last.content.filter((p: any) => p.type === "image_url").map((p: any) => p.image_url.url) : [];
}

describe.each(backends)("files in messages and runs (%s)", (backend) => {
  let fake: FakeOpenAI;
  let images: ImageServer;
  let s: TestServer;
  let chat: string;
  let code: string;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => "a cat" });
    images = await startImageServer("127.0.0.2");
    s = await startTestServer(backend, { OPENAI_BASE_URL: fake.baseUrl, OUTBOUND_ALLOW: "127.0.0.2" });
    code = (await s.importApp("apps/chat-file-uploads.yml")).code;
    chat = await s.passport(code);
  });
  afterAll(async () => {
    await s?.close();
    await images?.close();
    await fake?.close();
  });

  const upload = async (passport: string, filename: string, body: Buffer | string, type = "application/octet-stream") => {
    const res = await s.api("/files/upload", { method: "POST", passport, body: form([{ name: "file", filename, type, body }]) });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; source_url: string };
  };
  const post = (path: string, passport: string, body: object) =>
    s.api(path, { method: "POST", passport, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const local = (id: string, type = "image") => ({ type, transfer_method: "local_file", upload_file_id: id, url: "" });

  describe("chat apps", () => {
    it("REST: a local image reaches the model from the stored bytes and stays with the message", async () => {
      const file = await upload(chat, "cat.png", PICTURE, "image/png");
      const res = await post("/chat-messages", chat, { query: "What is this?", inputs: {}, response_mode: "streaming", files: [local(file.id)] });
      expect(res.status).toBe(200);
      const { events } = await readSse(res);
      expect(imagePartsSent(fake)).toEqual([DATA_URL]);

      // message_end lists the answer's own files (Dify's web client shows them on the answer): none here.
      const end = events.find((e) => e.event === "message_end");
      expect(end.files).toBeNull();

      const list = await (await s.api(`/messages?conversation_id=${end.conversation_id}`, { passport: chat })).json();
      const [kept] = list.data[0].message_files;
      expect(kept).toMatchObject({ filename: "cat.png", type: "image", mime_type: "image/png", size: PICTURE.length, transfer_method: "local_file", belongs_to: "user", upload_file_id: file.id });
      expect(Buffer.from(await (await fetch(s.url + kept.url)).arrayBuffer())).toEqual(PICTURE);
      const row = await s.rt.db.uploadFile.findUniqueOrThrow({ where: { id: file.id } });
      expect(row.used).toBe(true);
      expect(row.usedAt).toBeInstanceOf(Date);
    });

    it("GraphQL: an uploadFile result sent as LOCAL_FILE reaches the model, and Message.files is typed", async () => {
      const fd = new FormData();
      fd.append("operations", JSON.stringify({ query: UPLOAD, variables: { file: null } }));
      fd.append("map", JSON.stringify({ 0: ["variables.file"] }));
      fd.append("0", new Blob([new Uint8Array(PICTURE)], { type: "image/png" }), "dog.png");
      const uploaded = await (await fetch(`${s.url}/graphql`, { method: "POST", body: fd, headers: { "graphql-preflight": "1", "x-app-passport": chat } })).json();
      const id = uploaded.data.uploadFile.file.id;
      const sent = await s.graphql(SEND, { i: { query: "And this?", inputs: {}, files: [{ type: "IMAGE", transferMethod: "LOCAL_FILE", uploadFileId: id }] } }, { authorization: `Bearer ${chat}` });
      expect(sent.errors).toBeUndefined();
      expect(imagePartsSent(fake)).toEqual([DATA_URL]);
      const [kept] = sent.data!.sendChatMessage.saved.files;
      expect(kept).toMatchObject({ filename: "dog.png", type: "image", mimeType: "image/png", size: PICTURE.length, transferMethod: "local_file", belongsTo: "user", uploadFileId: id });
      expect(Buffer.from(await (await fetch(s.url + kept.url)).arrayBuffer())).toEqual(PICTURE);
    });

    it("refuses another end user's upload on both surfaces, before the model or any write", async () => {
      const stranger = await s.passport(code);
      const theirs = await upload(stranger, "secret.png", PICTURE, "image/png");
      const calls = fake.requests.length;
      const messages = await s.rt.db.message.count();
      const rest = await post("/chat-messages", chat, { query: "Show me", inputs: {}, response_mode: "streaming", files: [local(theirs.id)] });
      expect(rest.status).toBe(400);
      expect(await rest.json()).toEqual({ code: "invalid_param", message: "files[0]: Invalid upload file", status: 400, params: "files[0]" });
      const gql = await s.graphql(SEND, { i: { query: "Show me", inputs: {}, files: [{ type: "IMAGE", transferMethod: "LOCAL_FILE", uploadFileId: theirs.id }] } }, { authorization: `Bearer ${chat}` });
      expect(gql.data!.sendChatMessage).toEqual({ __typename: "AppError", code: "invalid_param", status: 400, params: "files[0]", message: "files[0]: Invalid upload file" });
      // Named as a pasted URL the gateway fetched (remote_url + upload_file_id): the same.
      const pasted = await post("/chat-messages", chat, { query: "Show me", inputs: {}, files: [{ type: "image", transfer_method: "remote_url", url: "", upload_file_id: theirs.id }] });
      expect(pasted.status).toBe(400);
      expect(fake.requests.length).toBe(calls);
      expect(await s.rt.db.message.count()).toBe(messages);
      expect((await s.rt.db.uploadFile.findUniqueOrThrow({ where: { id: theirs.id } })).used).toBe(false);
    });

    it("reads a pasted URL the gateway fetched from storage, not from the URL again", async () => {
      const res = await post("/remote-files/upload", chat, { url: images.url("/pasted.png") });
      expect(res.status).toBe(201);
      const fetched = await res.json();
      const asked = images.requests.length;
      const sent = await post("/chat-messages", chat, { query: "What is this?", inputs: {}, response_mode: "blocking", files: [{ type: "image", transfer_method: "remote_url", url: fetched.url, upload_file_id: fetched.id }] });
      expect(sent.status).toBe(200);
      expect(imagePartsSent(fake)).toEqual([DATA_URL]);
      expect(images.requests.length).toBe(asked);
      const row = await s.rt.db.messageFile.findFirstOrThrow({ where: { uploadFileId: fetched.id } });
      expect(row).toMatchObject({ transferMethod: "remote_url", url: images.url("/pasted.png") });
    });

    it("holds files to the app's rules: transfer methods and number limits (Dify's messages)", async () => {
      // The travel planner takes two images at most (its older image-only file_upload form).
      const planner = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
      const mine = await upload(planner, "a.png", PICTURE, "image/png");
      const inputs = { traveller: "Ana", destination: "Kyoto", days: "2", budget: "low" };
      const three = await post("/chat-messages", planner, { query: "Plan", inputs, files: [local(mine.id), local(mine.id), local(mine.id)] });
      expect(await three.json()).toMatchObject({ code: "invalid_param", status: 400, message: "Number of image files exceeds the maximum limit 2" });
      // The completion app takes images by local_file only.
      const describeApp = await s.passport((await s.importApp(COMPLETION_APP)).code);
      const byUrl = await post("/completion-messages", describeApp, { inputs: {}, files: [{ type: "image", transfer_method: "remote_url", url: images.url("/cat.png") }] });
      expect(await byUrl.json()).toMatchObject({ code: "invalid_param", status: 400, params: "files[0]", message: "File validation failed for file: cat.png (files cannot be sent by remote_url)." });
    });

    it("drops files sent to an app that takes none, as Dify does", async () => {
      const words = await s.passport((await s.importApp(NO_FILES_APP)).code);
      const res = await post("/chat-messages", words, { query: "Hello", inputs: {}, response_mode: "blocking", files: [local("00000000-0000-4000-8000-000000000001")] });
      expect(res.status).toBe(200);
      const answer = await res.json();
      expect(imagePartsSent(fake)).toEqual([]);
      expect(await s.rt.db.messageFile.count({ where: { messageId: answer.message_id } })).toBe(0);
    });
  });

  it("completion apps: a local image reaches the model, and more-like-this shows it again", async () => {
    const passport = await s.passport((await s.importApp(COMPLETION_APP)).code);
    const file = await upload(passport, "cat.png", PICTURE, "image/png");
    const res = await post("/completion-messages", passport, { inputs: {}, response_mode: "streaming", files: [local(file.id)] });
    const { events } = await readSse(res);
    expect(imagePartsSent(fake)).toEqual([DATA_URL]);
    const end = events.find((e) => e.event === "message_end");
    const kept = await s.rt.db.messageFile.findMany({ where: { messageId: end.message_id } });
    expect(kept).toEqual([expect.objectContaining({ uploadFileId: file.id, belongsTo: "user", transferMethod: "local_file" })]);
    const again = await s.api(`/messages/${end.message_id}/more-like-this?response_mode=blocking`, { passport });
    expect(again.status).toBe(200);
    expect(imagePartsSent(fake)).toEqual([DATA_URL]);
  });

  describe("workflows", () => {
    let passport: string;
    let minutes: { id: string };
    let scan: { id: string };
    beforeAll(async () => {
      passport = await s.passport((await s.importApp("workflows/workflow-read-uploads.yml")).code);
      minutes = await upload(passport, "minutes.pdf", await pdf("Minutes of the meeting"), "application/pdf");
      scan = await upload(passport, "scan.png", PICTURE, "image/png");
    });

    it("REST: the document-extractor reads an uploaded file input; the LLM sees uploaded sys.files; outputs carry signed URLs", async () => {
      const res = await post("/workflows/run", passport, { inputs: { doc: local(minutes.id, "document"), scans: [local(scan.id)] }, files: [local(scan.id)], response_mode: "streaming" });
      expect(res.status).toBe(200);
      const { events } = await readSse(res);
      const finished = events.find((e) => e.event === "workflow_finished");
      expect(finished.data.status).toBe("succeeded");
      expect(finished.data.outputs.text).toContain("Minutes of the meeting");
      expect(imagePartsSent(fake)).toEqual([DATA_URL]);
      const [shown] = finished.data.outputs.scans;
      expect(shown).toMatchObject({ dify_model_identity: "__dify__file__", transfer_method: "local_file", related_id: scan.id, filename: "scan.png", extension: ".png", mime_type: "image/png", size: PICTURE.length });
      expect(Buffer.from(await (await fetch(s.url + shown.url)).arrayBuffer())).toEqual(PICTURE);
      expect((await s.rt.db.uploadFile.findUniqueOrThrow({ where: { id: minutes.id } })).used).toBe(true);
    });

    it("GraphQL: the same run", async () => {
      const events = await gqlSse(s, RUN, { i: { inputs: { doc: local(minutes.id, "document") }, files: [{ type: "IMAGE", transferMethod: "LOCAL_FILE", uploadFileId: scan.id }] } }, { token: passport });
      const finished = events.find((e) => e.__typename === "WorkflowFinished")!;
      expect(finished.runStatus).toBe("succeeded");
      expect(finished.outputs.text).toContain("Minutes of the meeting");
      expect(imagePartsSent(fake)).toEqual([DATA_URL]);
    });

    it("holds each slot to its rule: a document in sys.files, an image for `doc`, a list past max_length, another user's file", async () => {
      const calls = fake.requests.length;
      const refused = async (body: object) => (await post("/workflows/run", passport, body)).json();
      expect(await refused({ inputs: { doc: local(minutes.id, "document") }, files: [local(minutes.id, "document")] })).toMatchObject({
        code: "invalid_param", params: "files[0]", message: "File validation failed for file: minutes.pdf (this app does not take document files).",
      });
      expect(await refused({ inputs: { doc: local(scan.id) } })).toMatchObject({ code: "invalid_param", params: "doc", message: "File validation failed for file: scan.png (this app does not take image files)." });
      expect(await refused({ inputs: { doc: local(minutes.id, "document"), scans: [local(scan.id), local(scan.id), local(scan.id)] } })).toMatchObject({
        code: "invalid_param", params: "scans", message: "scans in input form must be less than 2 files",
      });
      const stranger = await s.passport((await s.importApp("workflows/workflow-read-uploads.yml")).code);
      const gql = await gqlSse(s, RUN, { i: { inputs: { doc: local(minutes.id, "document") } } }, { token: stranger });
      expect(gql).toEqual([{ __typename: "AppError", code: "invalid_param", status: 400, params: "doc", message: "doc: Invalid upload file" }]);
      expect(fake.requests.length).toBe(calls);
    });
  });

  it("chatflows: an uploaded image reaches the LLM node; files an answer node shows are the answer's files", async () => {
    const passport = await s.passport((await s.importApp(CHATFLOW)).code);
    const file = await upload(passport, "cat.png", PICTURE, "image/png");
    const res = await post("/chat-messages", passport, { query: "What is this?", inputs: {}, response_mode: "streaming", files: [local(file.id)] });
    const { events } = await readSse(res);
    expect(events.find((e) => e.event === "workflow_finished").data.status).toBe("succeeded");
    expect(imagePartsSent(fake)).toEqual([DATA_URL]);
    // The answer shows sys.files: Dify records them as the answer's files, listed by message_end.
    const end = events.find((e) => e.event === "message_end");
    expect(end.files).toEqual([
      expect.objectContaining({ filename: "cat.png", extension: ".png", size: PICTURE.length, mime_type: "image/png", transfer_method: "local_file", type: "image", upload_file_id: file.id, remote_url: "" }),
    ]);
    expect(Buffer.from(await (await fetch(s.url + end.files[0].url)).arrayBuffer())).toEqual(PICTURE);
    const list = await (await s.api(`/messages?conversation_id=${events[0].conversation_id}`, { passport })).json();
    expect(list.data[0].message_files).toEqual([
      expect.objectContaining({ upload_file_id: file.id, filename: "cat.png", belongs_to: "user" }),
      expect.objectContaining({ id: end.files[0].related_id, upload_file_id: file.id, filename: "cat.png", belongs_to: "assistant" }),
    ]);
    // GraphQL: the same turn, its MessageEnd typed.
    const sent = await gqlSse(s, `subscription($i: ChatMessageInput!) { chatMessage(input: $i) { __typename ... on MessageEnd { files { filename belongsTo uploadFileId } } } }`, {
      i: { query: "Again?", inputs: {}, files: [{ type: "IMAGE", transferMethod: "LOCAL_FILE", uploadFileId: file.id }] },
    }, { token: passport });
    expect(sent.find((e) => e.__typename === "MessageEnd")!.files).toEqual([{ filename: "cat.png", belongsTo: "assistant", uploadFileId: file.id }]);
  });
});

describe("files in messages and runs on S3 storage", () => {
  let fake: FakeOpenAI;
  let s3: S3TestServer;
  let s: TestServer;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => "a cat" });
    s3 = await startS3Server();
    s = await startTestServer("pglite", {
      OPENAI_BASE_URL: fake.baseUrl,
      S3_ENDPOINT: s3.config.endpoint!,
      S3_BUCKET: s3.config.bucket,
      S3_ACCESS_KEY_ID: "S3RVER",
      S3_SECRET_ACCESS_KEY: "S3RVER",
    });
  });
  afterAll(async () => {
    await s?.close();
    await s3?.close();
    await fake?.close();
  });

  async function docx(text: string): Promise<Buffer> {
    // docx's own .d.ts re-exports extensionless paths, which NodeNext resolution cannot follow: untyped.
    const lib = "docx";
    const { Document, Packer, Paragraph } = await import(lib);
    return Buffer.from(await Packer.toBuffer(new Document({ sections: [{ children: [new Paragraph(text)] }] })));
  }

  it("a chat image and a workflow's DOCX and image are read from the bucket", async () => {
    const chat = await s.passport((await s.importApp("apps/chat-file-uploads.yml")).code);
    const send = (passport: string, path: string, body: object) =>
      s.api(path, { method: "POST", passport, headers: { "content-type": "application/json" }, body: JSON.stringify({ response_mode: "blocking", ...body }) });
    const upload = async (passport: string, filename: string, body: Buffer) =>
      (await (await s.api("/files/upload", { method: "POST", passport, body: form([{ name: "file", filename, body }]) })).json()) as { id: string };

    const picture = await upload(chat, "cat.png", PICTURE);
    expect((await send(chat, "/chat-messages", { query: "What is this?", inputs: {}, files: [{ type: "image", transfer_method: "local_file", upload_file_id: picture.id }] })).status).toBe(200);
    expect(imagePartsSent(fake)).toEqual([DATA_URL]);

    const flow = await s.passport((await s.importApp("workflows/workflow-read-uploads.yml")).code);
    const report = await upload(flow, "report.docx", await docx("Sales grew twelve percent"));
    const scan = await upload(flow, "scan.png", PICTURE);
    const run = await send(flow, "/workflows/run", {
      inputs: { doc: { type: "document", transfer_method: "local_file", upload_file_id: report.id } },
      files: [{ type: "image", transfer_method: "local_file", upload_file_id: scan.id }],
      response_mode: "streaming",
    });
    const finished = (await readSse(run)).events.find((e) => e.event === "workflow_finished");
    expect(finished.data.status).toBe("succeeded");
    expect(finished.data.outputs.text).toContain("Sales grew twelve percent");
    expect(imagePartsSent(fake)).toEqual([DATA_URL]);
    expect((await s.rt.db.uploadFile.findUniqueOrThrow({ where: { id: report.id } })).storageType).toBe("s3");
  });
});
