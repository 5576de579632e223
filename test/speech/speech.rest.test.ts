// POST /api/audio-to-text and /api/text-to-audio (behaviour.md 2.6) against the loopback OpenAI-wire
// speech server: every rule and error, the recording streamed through, and message ownership.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { silentMp3, startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { readSse } from "../support/sse.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { form } from "../support/uploads.js";

const MP3 = silentMp3(8);
// Dify's limit: 30 MB, counted as the recording streams.
const TOO_LARGE = Buffer.alloc(30 * 1024 * 1024 + 1, 0x55);

describe.each(backends)("speech over REST (%s)", (backend) => {
  let fake: FakeOpenAI;
  let s: TestServer;
  let spoken: { code: string };
  let onDemand: { code: string };
  let noSpeech: { code: string };
  let me: string;
  let other: string;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    s = await startTestServer(backend, { OPENAI_BASE_URL: fake.baseUrl });
    spoken = await s.importApp("apps/chat-speech.yml");
    onDemand = await s.importApp("apps/chat-speech-on-demand.yml");
    noSpeech = await s.importApp("apps/chat-travel-planner.yml");
    me = await s.passport(spoken.code);
    other = await s.passport(spoken.code);
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.setTranscription(() => "Hello from the fake transcriber");
    fake.setSpeech({});
  });

  const transcribe = (parts: Parameters<typeof form>[0], passport = me) => s.api("/audio-to-text", { method: "POST", passport, body: form(parts) });
  const speak = (body: object, passport = me) =>
    s.api("/text-to-audio", { method: "POST", passport, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const errorOf = async (res: Response) => ({ status: res.status, body: await res.json() });
  const speechCalls = () => fake.requests.filter((r) => r.path === "/v1/audio/speech");

  it("transcribes a recording: the bytes reach the speech server as sent, the text comes back", async () => {
    const res = await transcribe([{ name: "file", filename: "temp.mp3", type: "audio/mp3", body: MP3 }, { name: "word_timestamps", body: "disabled" }]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ text: "Hello from the fake transcriber" });
    const upload = fake.requests.at(-1)!.upload!;
    expect(upload).toMatchObject({ model: "whisper-1", filename: "temp.mp3", mimeType: "audio/mp3" });
    expect(upload.data).toEqual(MP3);
  });

  it("takes what browsers record and Dify's types in any case; refuses other types with 415", async () => {
    for (const type of ["audio/webm;codecs=opus", "audio/mp4", "audio/ogg", "AUDIO/WAV", "audio/mpeg", "audio/M4A"]) {
      const res = await transcribe([{ name: "file", filename: "rec", type, body: MP3 }]);
      expect(res.status, type).toBe(200);
    }
    for (const type of ["video/webm", "text/plain", "audio/flac", "application/octet-stream"]) {
      expect(await errorOf(await transcribe([{ name: "file", filename: "rec", type, body: MP3 }])), type).toEqual({
        status: 415,
        body: { code: "unsupported_audio_type", message: "Audio type not allowed.", status: 415 },
      });
    }
  });

  it("refuses a recording over 30 MB with 413 audio_too_large, counting as it streams", async () => {
    const before = fake.requests.length;
    const res = await transcribe([{ name: "file", filename: "long.mp3", type: "audio/mp3", body: TOO_LARGE }]);
    expect(await errorOf(res)).toEqual({ status: 413, body: { code: "audio_too_large", message: "Audio size larger than 30 mb", status: 413 } });
    // It was on its way to the speech server when the count passed the limit, and never arrived whole.
    const call = fake.requests.slice(before).find((r) => r.upload)!;
    expect(call.upload!.bytes).toBeGreaterThan(0);
    expect(call.upload!.data).toBeUndefined();
  });

  it("answers Dify's errors: no file part, speech to text off, an empty recording, the speech server's refusal", async () => {
    expect(await errorOf(await transcribe([{ name: "audio", filename: "temp.mp3", type: "audio/mp3", body: MP3 }]))).toMatchObject({
      status: 400,
      body: { code: "bad_request_key_error", status: 400 },
    });
    expect(await errorOf(await s.api("/audio-to-text", { method: "POST", passport: me, headers: { "content-type": "application/json" }, body: "{}" }))).toMatchObject({
      status: 400,
      body: { code: "bad_request_key_error" },
    });
    const off = await s.passport(onDemand.code);
    expect(await errorOf(await transcribe([{ name: "file", filename: "temp.mp3", type: "audio/mp3", body: MP3 }], off))).toEqual({
      status: 400,
      body: { code: "invalid_param", message: "Speech to text is not enabled", status: 400 },
    });
    expect(await errorOf(await transcribe([{ name: "file", filename: "temp.mp3", type: "audio/mp3", body: "" }]))).toMatchObject({
      status: 400,
      body: { code: "no_audio_uploaded" },
    });
    fake.setTranscription(() => ({ error: { status: 401, message: "Incorrect API key provided" } }));
    const refused = await errorOf(await transcribe([{ name: "file", filename: "temp.mp3", type: "audio/mp3", body: MP3 }]));
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    expect(refused.body.message).toMatch(/Incorrect API key/);
    expect((await transcribe([{ name: "file", filename: "a.mp3", type: "audio/mp3", body: MP3 }], "not-a-passport")).status).toBe(401);
  });

  it("speaks text as audio/mpeg, streamed as the speech server sends it, in the app's voice", async () => {
    fake.setSpeech({ audio: MP3, chunks: 4 });
    const res = await speak({ text: "Hello there.", streaming: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/mpeg");
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    expect(Buffer.from(await res.arrayBuffer())).toEqual(MP3);
    expect(speechCalls().at(-1)!.body).toMatchObject({ input: "Hello there.", voice: "nova", model: "tts-1", response_format: "mp3" });
    // The request's voice first; with none set anywhere, the provider's first voice.
    await (await speak({ text: "Hi", voice: "onyx" })).arrayBuffer();
    expect(speechCalls().at(-1)!.body.voice).toBe("onyx");
    await (await speak({ text: "Hi" }, await s.passport(onDemand.code))).arrayBuffer();
    expect(speechCalls().at(-1)!.body.voice).toBe("alloy");
  });

  it("speaks the viewer's own answer by message_id, and never another end user's (JSON null instead)", async () => {
    fake.setSpeech({ audio: MP3, chunks: 2 });
    const chat = await s.api("/chat-messages", {
      method: "POST",
      passport: me,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "Say hi", inputs: {}, response_mode: "blocking" }),
    });
    const { message_id, answer } = (await chat.json()) as { message_id: string; answer: string };
    const mine = await speak({ message_id });
    expect(mine.status).toBe(200);
    expect(Buffer.from(await mine.arrayBuffer())).toEqual(MP3);
    expect(speechCalls().at(-1)!.body.input).toBe(answer);

    const calls = speechCalls().length;
    for (const [passport, id] of [
      [other, message_id], // another end user of the same app
      [await s.passport(onDemand.code), message_id], // another app
      [me, "00000000-0000-4000-8000-000000000000"], // no such message
    ]) {
      const res = await speak({ message_id: id }, passport);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await res.text()).toBe("null");
    }
    expect(speechCalls().length).toBe(calls); // nothing was spoken
  });

  it("answers Dify's text-to-audio errors", async () => {
    const cases: [object, string, number, string, string][] = [
      [{ message_id: "not-a-uuid" }, me, 400, "invalid_param", "message_id is not a valid uuid"],
      [{}, me, 400, "invalid_param", "Text is required"],
      [{ text: "   " }, me, 400, "invalid_param", "Text is required"],
      [{ text: 42 }, me, 400, "invalid_param", "text must be a string"],
      [{ text: "word ".repeat(4001) }, me, 400, "invalid_param", "Text is too long: at most 20000 characters"],
      [{ text: "lone \ud800 surrogate" }, me, 400, "invalid_param", expect.stringContaining("text")],
      [{ text: "Hi", voice: 7 }, me, 400, "invalid_param", "voice must be a string"],
      [{ text: "Hi" }, await s.passport(noSpeech.code), 400, "invalid_param", "TTS is not enabled"],
    ];
    for (const [body, passport, status, code, message] of cases) {
      expect(await errorOf(await speak(body, passport)), JSON.stringify(body)).toMatchObject({ status, body: { code, message, status } });
    }
    const notJson = await s.api("/text-to-audio", { method: "POST", passport: me, body: "text=hi" });
    expect(notJson.status).toBe(415);
    fake.setSpeech({ error: { status: 401, message: "Incorrect API key provided" } });
    const refused = await errorOf(await speak({ text: "Hi" }));
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    expect(refused.body.message).toMatch(/Incorrect API key/);
  });

  it("does not speak a streamed answer when the app does not auto-play", async () => {
    const off = await s.passport(onDemand.code);
    const calls = speechCalls().length;
    const res = await s.api("/chat-messages", {
      method: "POST",
      passport: off,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "Say something. Then more.", inputs: {}, response_mode: "streaming" }),
    });
    const { events } = await readSse(res);
    expect(events.at(-1).event).toBe("message_end");
    expect(events.some((e) => e.event.startsWith("tts_"))).toBe(false);
    expect(speechCalls().length).toBe(calls);
  });
});
