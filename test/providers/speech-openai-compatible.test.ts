// The OpenAI-compatible speech adapter against the fake OpenAI on loopback: the recording streamed
// into /audio/transcriptions, the MP3 streamed out of /audio/speech, failures as Dify's errors, aborts.
import { Readable } from "node:stream";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AppError } from "../../src/core/errors.js";
import { loadConfig } from "../../src/config.js";
import { createSpeechProvider, OpenAICompatibleSpeech, OPENAI_VOICES } from "../../src/providers/speech/index.js";
import { silentMp3, startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { mp3Frames } from "../support/mp3.js";
import fs from "node:fs";
import path from "node:path";
import { tmpdir } from "node:os";

const recording = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31) % 256));

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

async function caught(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a failure");
}

describe("OpenAICompatibleSpeech against the fake OpenAI", () => {
  let fake: FakeOpenAI;
  let speech: OpenAICompatibleSpeech;
  beforeEach(async () => {
    fake = await startFakeOpenAI();
    speech = new OpenAICompatibleSpeech({ baseUrl: fake.baseUrl, apiKey: "sk-speech" });
  });
  afterEach(() => fake.close());

  it("streams the recording into a multipart upload: the server has the first half before the second is read", async () => {
    const half = recording.length / 2;
    async function* audio() {
      yield recording.subarray(0, half);
      // Held back until the server has the first half: only a streamed upload gets past this.
      await fake.uploadReceived(half);
      yield recording.subarray(half);
    }
    fake.setTranscription((upload) => `heard ${upload.bytes} bytes`);
    const text = await speech.transcribe({ audio: Readable.from(audio()), filename: "temp.mp3", mimeType: "audio/mp3", language: "en-US" });
    expect(text).toBe(`heard ${recording.length} bytes`);
    const [req] = fake.requests;
    expect(req.path).toBe("/v1/audio/transcriptions");
    expect(req.headers.authorization).toBe("Bearer sk-speech");
    expect(req.headers["transfer-encoding"]).toBe("chunked");
    expect(req.upload).toMatchObject({ model: "whisper-1", language: "en", filename: "temp.mp3", mimeType: "audio/mp3", bytes: recording.length });
    expect(req.upload!.data!.equals(recording)).toBe(true);
  });

  it("sends the app's model, and no language when none is given", async () => {
    await speech.transcribe({ audio: Readable.from([recording]), filename: "voice.webm", mimeType: "audio/webm", model: "whisper-large" });
    expect(fake.requests[0].upload).toMatchObject({ model: "whisper-large", filename: "voice.webm", mimeType: "audio/webm" });
    expect(fake.requests[0].upload!.fields).not.toHaveProperty("language");
  });

  it.each([
    [401, "Incorrect API key provided", "provider_not_initialize", 400],
    [404, "The model `whisper-9` does not exist", "model_currently_not_support", 400],
    [413, "Maximum content size limit exceeded", "audio_too_large", 413],
    [415, "Invalid file format", "unsupported_audio_type", 415],
    [500, "The server had an error", "completion_request_error", 400],
  ])("maps a transcription failure %i to %s", async (status, message, code, appStatus) => {
    fake.setTranscription(() => ({ error: { status, message } }));
    const err = await caught(speech.transcribe({ audio: Readable.from([recording]), filename: "a.mp3", mimeType: "audio/mp3" }));
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code, status: appStatus });
    expect(err.message).toContain(message);
  });

  it("maps an unreachable server to a completion_request_error", async () => {
    const closed = await startFakeOpenAI();
    await closed.close();
    const err = await caught(new OpenAICompatibleSpeech({ baseUrl: closed.baseUrl }).transcribe({ audio: Readable.from([recording]), filename: "a.mp3", mimeType: "audio/mp3" }));
    expect(err).toMatchObject({ code: "completion_request_error", status: 400 });
    expect(err.message).toMatch(/Connection error/);
  });

  it("stops the upload on abort: the caller gets an AbortError and the server sees the request cut off", async () => {
    const controller = new AbortController();
    async function* endless() {
      yield recording;
      await new Promise<void>((resolve) => controller.signal.addEventListener("abort", () => resolve()));
      yield recording;
    }
    const pending = speech.transcribe({ audio: Readable.from(endless()), filename: "a.mp3", mimeType: "audio/mp3", signal: controller.signal });
    await fake.uploadReceived(recording.length);
    controller.abort();
    expect(await caught(pending)).toMatchObject({ name: "AbortError" });
    await fake.requests[0].ended;
    expect(fake.requests[0].completed).toBe(false);
  });

  it("gives up on an upload that stalls longer than the timeout", async () => {
    const stalled = new OpenAICompatibleSpeech({ baseUrl: fake.baseUrl, timeoutMs: 300 });
    const never = new Readable({ read() {} });
    never.push(recording);
    const err = await caught(stalled.transcribe({ audio: never, filename: "a.mp3", mimeType: "audio/mp3" }));
    expect(err).toMatchObject({ code: "completion_request_error" });
    expect(err.message).toMatch(/timed out after 300 ms/);
  });

  it("streams speech out in chunks as the server sends them", async () => {
    const audio = silentMp3(80);
    fake.setSpeech({ audio, chunks: 5, chunkDelayMs: 30 });
    const chunks: Buffer[] = [];
    let completedAtFirstChunk: boolean | undefined;
    for await (const chunk of speech.speak({ text: "Hello there." })) {
      completedAtFirstChunk ??= fake.requests[0].completed;
      chunks.push(chunk);
    }
    // The first bytes were ours before the server had written the last.
    expect(completedAtFirstChunk).toBe(false);
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).equals(audio)).toBe(true);
    expect(mp3Frames(Buffer.concat(chunks)).frames).toBe(80);
    expect(fake.requests[0].path).toBe("/v1/audio/speech");
    expect(fake.requests[0].headers.authorization).toBe("Bearer sk-speech");
    expect(fake.requests[0].body).toEqual({ model: "tts-1", input: "Hello there.", voice: "alloy", response_format: "mp3" });
  });

  it("sends the app's model and voice", async () => {
    await collect(speech.speak({ text: "Hi", model: "tts-1-hd", voice: "nova" }));
    expect(fake.requests[0].body).toEqual({ model: "tts-1-hd", input: "Hi", voice: "nova", response_format: "mp3" });
  });

  it("maps speech failures, and a JSON answer where audio was expected", async () => {
    fake.setSpeech({ error: { status: 401, message: "Incorrect API key provided" } });
    expect(await caught(collect(speech.speak({ text: "Hi" })))).toMatchObject({ code: "provider_not_initialize", status: 400 });
    fake.setSpeech({ error: { status: 400, message: "Input too long" } });
    const err = await caught(collect(speech.speak({ text: "Hi" })));
    expect(err).toMatchObject({ code: "completion_request_error", status: 400 });
    expect(err.message).toContain("Input too long");
  });

  it("stops reading on abort: an AbortError, and the server sees the response cut off", async () => {
    fake.setSpeech({ audio: silentMp3(80), chunks: 8, chunkDelayMs: 200 });
    const controller = new AbortController();
    const err = await caught(
      (async () => {
        for await (const _chunk of speech.speak({ text: "Hello", signal: controller.signal })) controller.abort();
      })(),
    );
    expect(err).toMatchObject({ name: "AbortError" });
    await fake.requests[0].ended;
    expect(fake.requests[0].aborted).toBe(true);
  });

  it("offers OpenAI's voices, the configured one first", () => {
    expect(speech.voices()).toEqual([...OPENAI_VOICES]);
    expect(new OpenAICompatibleSpeech({ baseUrl: fake.baseUrl, voice: "onyx" }).voices()[0]).toBe("onyx");
    expect(speech.transcribes).toBe(true);
    expect(speech.name).toBe(`openai-compatible (${fake.baseUrl})`);
  });
});

describe("a speech server answering 200 with JSON", () => {
  it("is a completion_request_error, not audio", async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "no such voice" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const err = await caught(collect(new OpenAICompatibleSpeech({ baseUrl: `http://127.0.0.1:${port}/v1` }).speak({ text: "Hi" })));
      expect(err).toMatchObject({ code: "completion_request_error", status: 400 });
      expect(err.message).toContain("no such voice");
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("choosing the speech provider from config", () => {
  // loadConfig keeps an embedded secret key in DATA_DIR.
  const dir = fs.mkdtempSync(path.join(tmpdir(), "speech-config-"));
  const provider = (env: Record<string, string>) => createSpeechProvider(loadConfig({ DATA_DIR: dir, ...env }).speech);

  it("is the embedded engine with nothing configured", () => {
    expect(provider({}).name).toBe("embedded espeak-ng (offline)");
    expect(provider({ OPENAI_BASE_URL: "http://127.0.0.1:1/v1", SPEECH_PROVIDER: "embedded" }).name).toBe("embedded espeak-ng (offline)");
  });

  it("uses OPENAI_BASE_URL and its key, or SPEECH_BASE_URL with its own key only", () => {
    expect(provider({ OPENAI_BASE_URL: "http://127.0.0.1:1/v1" }).name).toBe("openai-compatible (http://127.0.0.1:1/v1)");
    expect(loadConfig({ DATA_DIR: dir, OPENAI_BASE_URL: "http://127.0.0.1:1/v1", OPENAI_API_KEY: "sk-o" }).speech).toMatchObject({ apiKey: "sk-o" });
    const separate = loadConfig({ DATA_DIR: dir, OPENAI_BASE_URL: "http://127.0.0.1:1/v1", OPENAI_API_KEY: "sk-o", SPEECH_BASE_URL: "http://127.0.0.1:2/v1" }).speech;
    expect(separate).toMatchObject({ baseUrl: "http://127.0.0.1:2/v1" });
    expect(separate.apiKey).toBeUndefined();
    expect(loadConfig({ DATA_DIR: dir, SPEECH_BASE_URL: "http://127.0.0.1:2/v1", SPEECH_API_KEY: "sk-s" }).speech).toMatchObject({ apiKey: "sk-s" });
  });

  it("takes default models and voice from config", () => {
    expect(loadConfig({ DATA_DIR: dir }).speech).toMatchObject({ speechToTextModel: "whisper-1", textToSpeechModel: "tts-1" });
    const set = loadConfig({ DATA_DIR: dir, SPEECH_TO_TEXT_MODEL: "whisper-large-v3", TEXT_TO_SPEECH_MODEL: "kokoro", TEXT_TO_SPEECH_VOICE: "af_sky" }).speech;
    expect(set).toMatchObject({ speechToTextModel: "whisper-large-v3", textToSpeechModel: "kokoro", voice: "af_sky" });
  });

  it("names the variable when SPEECH_PROVIDER asks for a server that is not configured", () => {
    expect(() => loadConfig({ DATA_DIR: dir, SPEECH_PROVIDER: "openai-compatible" })).toThrow(/^SPEECH_BASE_URL: required/);
    expect(() => loadConfig({ DATA_DIR: dir, SPEECH_PROVIDER: "whisper" })).toThrow(/^SPEECH_PROVIDER:/);
  });
});

describe("the fake's models in OpenAI's request shapes", () => {
  it("sends the configured default models", async () => {
    const fake = await startFakeOpenAI();
    try {
      const speech = createSpeechProvider({ baseUrl: fake.baseUrl, speechToTextModel: "whisper-large-v3", textToSpeechModel: "kokoro", voice: "af_sky" });
      await speech.transcribe({ audio: Readable.from([recording]), filename: "a.wav", mimeType: "audio/wav" });
      await collect(speech.speak({ text: "Hi" }));
      expect(fake.requests[0].upload!.model).toBe("whisper-large-v3");
      expect(fake.requests[1].body).toEqual({ model: "kokoro", input: "Hi", voice: "af_sky", response_format: "mp3" });
    } finally {
      await fake.close();
    }
  });
});
