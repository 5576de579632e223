// Speech with no speech server configured (the zero-config default): the embedded engine speaks, on
// both surfaces, and nothing transcribes, which is Dify's clear 400 rather than a failure.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { form } from "../support/uploads.js";

const TRANSCRIBE = `mutation($file: Upload!) { transcribe(file: $file) { __typename ... on TranscribePayload { text } ... on AppError { code message status } } }`;

describe.each(backends)("speech without a speech server (%s)", (backend) => {
  let s: TestServer;
  let passport: string;

  beforeAll(async () => {
    s = await startTestServer(backend);
    passport = await s.passport((await s.importApp("apps/chat-speech.yml")).code);
  });
  afterAll(() => s?.close());

  it("speaks text on REST with the embedded engine: a streamed MP3", async () => {
    const res = await s.api("/text-to-audio", { method: "POST", passport, headers: { "content-type": "application/json" }, body: JSON.stringify({ text: "Hello from appgraph." }) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/mpeg");
    const mp3 = Buffer.from(await res.arrayBuffer());
    expect(mp3.length).toBeGreaterThan(1000);
    // An MPEG audio frame sync (or an ID3 tag) opens the stream.
    expect(mp3.subarray(0, 3).toString("latin1") === "ID3" || (mp3[0] === 0xff && (mp3[1]! & 0xe0) === 0xe0)).toBe(true);
  }, 30_000);

  it("answers provider_not_support_speech_to_text on both surfaces", async () => {
    const rest = await s.api("/audio-to-text", { method: "POST", passport, body: form([{ name: "file", filename: "temp.mp3", type: "audio/mp3", body: "abc" }]) });
    expect(rest.status).toBe(400);
    expect(await rest.json()).toEqual({ code: "provider_not_support_speech_to_text", message: "Provider not support speech to text.", status: 400 });

    const fd = new FormData();
    fd.append("operations", JSON.stringify({ query: TRANSCRIBE, variables: { file: null } }));
    fd.append("map", JSON.stringify({ 0: ["variables.file"] }));
    fd.append("0", new Blob(["abc"], { type: "audio/mp3" }), "temp.mp3");
    const res = await fetch(`${s.url}/graphql`, { method: "POST", body: fd, headers: { "graphql-preflight": "1", "x-app-passport": passport } });
    expect(((await res.json()) as any).data.transcribe).toEqual({
      __typename: "AppError",
      code: "provider_not_support_speech_to_text",
      message: "Provider not support speech to text.",
      status: 400,
    });
  });

  it("speaks text over GraphQL with the embedded engine", async () => {
    const { data } = await s.graphql(`{ speech(text: "Hi there.") { __typename ... on SpeechAudio { mimeType bytes audio } } }`, {}, { "x-app-passport": passport });
    expect(data.speech).toMatchObject({ __typename: "SpeechAudio", mimeType: "audio/mpeg" });
    expect(data.speech.bytes).toBeGreaterThan(1000);
    expect(Buffer.from(data.speech.audio, "base64").length).toBe(data.speech.bytes);
  }, 30_000);
});
