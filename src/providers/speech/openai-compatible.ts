// Speech through any server speaking OpenAI's audio wire (OpenAI, LocalAI, Speaches, LiteLLM…):
// `/audio/transcriptions` (the recording streamed into a multipart body, never held whole) and
// `/audio/speech` (the MP3 streamed back as it arrives). Failures map as the model adapter's do.
import http from "node:http";
import crypto from "node:crypto";
import { Readable } from "node:stream";
import { AppError } from "../../core/errors.js";
import { abortError } from "../abort.js";
import { describe, mapUpstreamError, plainText, upstreamError } from "../model/openai-compatible.js";
import type { SpeechProvider, SpeechRequest, TranscriptionRequest } from "../../core/ports/speech.js";

const DEFAULT_TIMEOUT_MS = 60_000;
/** OpenAI's voices for tts-1; a server with others lists them in config (TEXT_TO_SPEECH_VOICE). */
export const OPENAI_VOICES = ["alloy", "echo", "fable", "onyx", "nova", "shimmer"] as const;

export type OpenAICompatibleSpeechOptions = {
  /** E.g. "https://api.openai.com/v1"; `/audio/...` is appended. */
  baseUrl: string;
  apiKey?: string;
  /** Defaults when a request names none: whisper-1, tts-1, alloy. */
  speechToTextModel?: string;
  textToSpeechModel?: string;
  voice?: string;
  /** Longest silence: waiting for the response, between two uploaded chunks, between two downloaded ones. Default 60000. */
  timeoutMs?: number;
};

export class OpenAICompatibleSpeech implements SpeechProvider {
  readonly name: string;
  readonly transcribes = true;
  private readonly baseUrl: string;
  private readonly apiKey?: string;
  private readonly sttModel: string;
  private readonly ttsModel: string;
  private readonly voiceList: readonly string[];
  private readonly timeoutMs: number;

  constructor(options: OpenAICompatibleSpeechOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.name = `openai-compatible (${this.baseUrl})`;
    this.apiKey = options.apiKey || undefined;
    this.sttModel = options.speechToTextModel || "whisper-1";
    this.ttsModel = options.textToSpeechModel || "tts-1";
    const voice = options.voice || OPENAI_VOICES[0];
    this.voiceList = [voice, ...OPENAI_VOICES.filter((v) => v !== voice)];
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  voices(): readonly string[] {
    return this.voiceList;
  }

  async transcribe(request: TranscriptionRequest): Promise<string> {
    const call = new SpeechCall(request.signal, this.timeoutMs);
    try {
      const boundary = `----appgraph${crypto.randomBytes(12).toString("hex")}`;
      const fields: Record<string, string> = { model: request.model || this.sttModel, response_format: "json" };
      const language = request.language?.split(/[-_]/)[0]?.toLowerCase();
      if (language) fields.language = language;
      const body = Readable.toWeb(Readable.from(multipart(boundary, fields, request, () => call.progress())));
      const res = await call.send(`${this.baseUrl}/audio/transcriptions`, {
        method: "POST",
        headers: this.headers({ "content-type": `multipart/form-data; boundary=${boundary}`, accept: "application/json" }),
        body: body as ReadableStream<Uint8Array>,
        duplex: "half",
      });
      const text = await call.readText(res);
      call.finished();
      return transcriptionText(text, res.headers.get("content-type") ?? "");
    } catch (err) {
      throw call.translate(err);
    } finally {
      call.dispose();
    }
  }

  async *speak(request: SpeechRequest): AsyncGenerator<Buffer, void, undefined> {
    const call = new SpeechCall(request.signal, this.timeoutMs);
    try {
      const payload = { model: request.model || this.ttsModel, input: request.text, voice: request.voice || this.voiceList[0], response_format: "mp3" };
      const res = await call.send(`${this.baseUrl}/audio/speech`, {
        method: "POST",
        headers: this.headers({ "content-type": "application/json", accept: "audio/mpeg" }),
        body: JSON.stringify(payload),
      });
      if (/\bjson\b/i.test(res.headers.get("content-type") ?? "")) {
        // Some servers answer an error as a 200 JSON body.
        const text = await call.readText(res);
        call.finished();
        throw speechError(`Expected audio, got ${plainText(text) ?? "an empty JSON body"}`);
      }
      if (!res.body) throw speechError("The response has no body");
      const reader = res.body.getReader();
      let bytes = 0;
      for (;;) {
        const { value, done } = await call.read(reader);
        if (done) break;
        if (value.byteLength === 0) continue;
        bytes += value.byteLength;
        call.throwIfAborted();
        yield Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      }
      call.finished();
      if (bytes === 0) throw speechError("The response has no audio");
    } catch (err) {
      throw call.translate(err);
    } finally {
      call.dispose();
    }
  }

  async close(): Promise<void> {}

  private headers(headers: Record<string, string>): Record<string, string> {
    return this.apiKey ? { ...headers, authorization: `Bearer ${this.apiKey}` } : headers;
  }
}

/** The multipart body: the fields, then the recording's bytes as they come, then the closing boundary. */
async function* multipart(boundary: string, fields: Record<string, string>, request: TranscriptionRequest, progress: () => void): AsyncGenerator<Buffer> {
  let head = "";
  for (const [name, value] of Object.entries(fields)) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  }
  const filename = (request.filename || "audio").replace(/["\r\n\\]/g, "_");
  const mimeType = /^[\w.+-]+\/[\w.+-]+$/.test(request.mimeType) ? request.mimeType : "application/octet-stream";
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: ${mimeType}\r\n\r\n`;
  yield Buffer.from(head);
  for await (const chunk of request.audio) {
    progress();
    yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array | string);
  }
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}

/** `{text}` (json, verbose_json), or the plain text a server answered with anyway. */
function transcriptionText(body: string, contentType: string): string {
  if (!/\bjson\b/i.test(contentType)) return body.trim();
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw speechError(`Malformed response: ${plainText(body) ?? "not JSON"}`);
  }
  const text = typeof json === "object" && json !== null ? (json as { text?: unknown }).text : undefined;
  if (typeof text !== "string") throw speechError(`Malformed response: no text in ${plainText(body) ?? "the body"}`);
  return text;
}

function speechError(message: string): AppError {
  return new AppError("completion_request_error", 400, `[openai-compatible] ${message}`);
}

/** Statuses that are about the recording the caller sent, kept as Dify's audio errors. */
function mapSpeechError(status: number, message: string, code?: string): AppError {
  if (status === 413) return new AppError("audio_too_large", 413, `[openai-compatible] Error code: 413 - ${message}`);
  if (status === 415) return new AppError("unsupported_audio_type", 415, `[openai-compatible] Error code: 415 - ${message}`);
  return mapUpstreamError(status, message, code);
}

/** One exchange: the caller's signal, a silence timeout reset by every chunk each way, failures as AppErrors. */
class SpeechCall {
  private readonly controller = new AbortController();
  private readonly onAbort?: () => void;
  private timer?: NodeJS.Timeout;
  private timedOut = false;
  private done = false;
  private uploading = false;

  constructor(
    private readonly signal: AbortSignal | undefined,
    private readonly timeoutMs: number,
  ) {
    if (signal?.aborted) this.controller.abort(signal.reason);
    else if (signal) {
      // Aborts fetch even while the consumer is not pulling.
      this.onAbort = () => this.controller.abort(signal.reason);
      signal.addEventListener("abort", this.onAbort, { once: true });
    }
  }

  async send(url: string, init: RequestInit & { duplex?: "half" }): Promise<Response> {
    this.throwIfAborted();
    this.uploading = true;
    this.arm();
    let res: Response;
    try {
      res = await fetch(url, { ...init, signal: this.controller.signal } as RequestInit);
    } finally {
      this.uploading = false;
      clearTimeout(this.timer);
    }
    if (!res.ok) throw await this.httpError(res);
    return res;
  }

  /** A chunk of the upload went out: the server is taking it, so the silence starts again. */
  progress(): void {
    if (this.uploading) this.arm();
  }

  async read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<ReadableStreamReadResult<Uint8Array>> {
    this.arm();
    try {
      return await reader.read();
    } finally {
      clearTimeout(this.timer);
    }
  }

  async readText(res: Response): Promise<string> {
    this.arm();
    try {
      return await res.text();
    } finally {
      clearTimeout(this.timer);
    }
  }

  finished(): void {
    this.done = true;
  }

  throwIfAborted(): void {
    if (this.signal?.aborted) throw abortError(this.signal);
  }

  translate(err: unknown): unknown {
    if (this.signal?.aborted) return abortError(this.signal, err);
    if (err instanceof AppError) return err;
    if (this.timedOut) return speechError(`Request timed out after ${this.timeoutMs} ms`);
    return speechError(`Connection error: ${describe(err)}`);
  }

  dispose(): void {
    clearTimeout(this.timer);
    if (this.onAbort) this.signal?.removeEventListener("abort", this.onAbort);
    if (!this.done && !this.controller.signal.aborted) this.controller.abort(new DOMException("The request was cancelled", "AbortError"));
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new DOMException(`No progress within ${this.timeoutMs} ms`, "TimeoutError"));
    }, this.timeoutMs);
  }

  private async httpError(res: Response): Promise<AppError> {
    let text = "";
    try {
      text = await this.readText(res);
    } catch (err) {
      if (this.signal?.aborted) throw err;
      // The status alone will do.
    }
    this.done = true;
    const { message, code } = upstreamError(text);
    return mapSpeechError(res.status, message ?? plainText(text) ?? (res.statusText || http.STATUS_CODES[res.status] || "Unknown error"), code);
  }
}
