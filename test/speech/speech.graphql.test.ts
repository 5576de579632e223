// Speech over GraphQL: `transcribe` (a multipart upload) and `speech` (MP3 as base64), with the REST
// endpoints' rules and errors as AppError results, and message ownership.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { silentMp3, startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";

const MP3 = silentMp3(8);
const TRANSCRIBE = `mutation($file: Upload!) { transcribe(file: $file) { __typename ... on TranscribePayload { text } ... on AppError { code message status } } }`;
const SPEECH = `query($text: String, $messageId: ID, $voice: String) {
  speech(text: $text, messageId: $messageId, voice: $voice) {
    __typename ... on SpeechAudio { mimeType audio bytes voice } ... on AppError { code message status params }
  }
}`;

describe.each(backends)("speech over GraphQL (%s)", (backend) => {
  let fake: FakeOpenAI;
  let s: TestServer;
  let me: string;
  let other: string;
  let off: string;
  let noSpeech: string;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    s = await startTestServer(backend, { OPENAI_BASE_URL: fake.baseUrl });
    const spoken = await s.importApp("apps/chat-speech.yml");
    me = await s.passport(spoken.code);
    other = await s.passport(spoken.code);
    off = await s.passport((await s.importApp("apps/chat-speech-on-demand.yml")).code);
    noSpeech = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.setTranscription(() => "Hello from the fake transcriber");
    fake.setSpeech({ audio: MP3, chunks: 3 });
  });

  const upload = async (body: Buffer, type: string, opts: { passport?: string; preflight?: boolean } = {}) => {
    const fd = new FormData();
    fd.append("operations", JSON.stringify({ query: TRANSCRIBE, variables: { file: null } }));
    fd.append("map", JSON.stringify({ 0: ["variables.file"] }));
    fd.append("0", new Blob([new Uint8Array(body)], { type }), "temp.mp3");
    const headers: Record<string, string> = { "x-app-passport": opts.passport ?? me };
    if (opts.preflight !== false) headers["graphql-preflight"] = "1";
    const res = await fetch(`${s.url}/graphql`, { method: "POST", body: fd, headers });
    return { status: res.status, body: (await res.json()) as any };
  };
  const speech = (variables: Record<string, unknown>, token = me) => s.graphql(SPEECH, variables, { "x-app-passport": token });
  const speechCalls = () => fake.requests.filter((r) => r.path === "/v1/audio/speech");

  it("transcribes an upload, streamed to the speech server", async () => {
    const { status, body } = await upload(MP3, "audio/webm");
    expect(status).toBe(200);
    expect(body.data.transcribe).toEqual({ __typename: "TranscribePayload", text: "Hello from the fake transcriber" });
    expect(fake.requests.at(-1)!.upload).toMatchObject({ mimeType: "audio/webm", data: MP3 });
  });

  it("answers the REST endpoint's errors as AppError results", async () => {
    expect((await upload(MP3, "text/plain")).body.data.transcribe).toMatchObject({ __typename: "AppError", code: "unsupported_audio_type", status: 415 });
    expect((await upload(MP3, "audio/mp3", { passport: off })).body.data.transcribe).toMatchObject({
      code: "invalid_param",
      message: "Speech to text is not enabled",
    });
    expect((await upload(Buffer.alloc(30 * 1024 * 1024 + 1), "audio/mp3")).body.data.transcribe).toMatchObject({
      code: "audio_too_large",
      message: "Audio size larger than 30 mb",
      status: 413,
    });
    expect((await upload(Buffer.alloc(0), "audio/mp3")).body.data.transcribe).toMatchObject({ code: "no_audio_uploaded", status: 400 });
    // A multipart request without the CSRF header is refused before anything runs.
    expect((await upload(MP3, "audio/mp3", { preflight: false })).status).toBe(400);
  });

  it("speaks text as base64 MP3, in the request's voice, the app's, or the provider's first", async () => {
    const { data } = await speech({ text: "Hello there." });
    expect(data.speech).toEqual({ __typename: "SpeechAudio", mimeType: "audio/mpeg", audio: MP3.toString("base64"), bytes: MP3.length, voice: "nova" });
    expect(speechCalls().at(-1)!.body).toMatchObject({ input: "Hello there.", voice: "nova" });
    expect((await speech({ text: "Hi", voice: "onyx" })).data.speech.voice).toBe("onyx");
    expect((await speech({ text: "Hi" }, off)).data.speech.voice).toBe("alloy");
  });

  it("speaks the viewer's own message, by global id or UUID, and null for anyone else's", async () => {
    const sent = await s.graphql(`mutation { sendChatMessage(input: { query: "Say hi" }) { ... on GenerationResult { messageId answer } } }`, {}, { "x-app-passport": me });
    const { messageId, answer } = sent.data.sendChatMessage;
    expect((await speech({ messageId })).data.speech.audio).toBe(MP3.toString("base64"));
    expect(speechCalls().at(-1)!.body.input).toBe(answer);
    const calls = speechCalls().length;
    expect((await speech({ messageId }, other)).data.speech).toBeNull();
    expect((await speech({ messageId }, off)).data.speech).toBeNull();
    expect((await speech({ messageId: "00000000-0000-4000-8000-000000000000" })).data.speech).toBeNull();
    expect(speechCalls().length).toBe(calls);
  });

  it("answers typed errors for bad input and a disabled feature", async () => {
    expect((await speech({})).data.speech).toMatchObject({ __typename: "AppError", code: "invalid_param", message: "Text is required", status: 400 });
    expect((await speech({ text: "word ".repeat(4001) })).data.speech).toMatchObject({ code: "invalid_param", message: "Text is too long: at most 20000 characters" });
    expect((await speech({ messageId: "garbage" })).data.speech).toMatchObject({ code: "invalid_param", message: "message_id is not a valid uuid" });
    expect((await speech({ text: "Hi" }, noSpeech)).data.speech).toMatchObject({ code: "invalid_param", message: "TTS is not enabled" });
    const unauthenticated = await s.graphql(SPEECH, { text: "Hi" });
    expect(unauthenticated.data?.speech).toMatchObject({ __typename: "AppError", status: 401 });
  });
});
