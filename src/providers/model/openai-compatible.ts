// Any server speaking OpenAI's chat-completions wire format (OpenAI, vLLM, Ollama, llama.cpp, LiteLLM…),
// over plain fetch. Upstream failures become Dify's model errors (AppError, HTTP 400); an abort stays an
// AbortError and closes the upstream connection.
import http from "node:http";
import { AppError } from "../../core/errors.js";
import { abortError } from "../abort.js";
import { estimateUsage } from "./offline.js";
import type { ChatMessage, CompletionParams, ModelProvider, ModelRequest, ModelStreamEvent, Usage } from "../../core/ports/model.js";

const NAME = "openai-compatible";
const DEFAULT_TIMEOUT_MS = 60_000;

export type OpenAICompatibleOptions = {
  /** E.g. "https://api.openai.com/v1" or "http://localhost:11434/v1"; `/chat/completions` is appended. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …` when set. */
  apiKey?: string;
  /** Longest wait for the response headers, and longest silence between two chunks of the body. Default 60000. */
  timeoutMs?: number;
};

export class OpenAICompatibleProvider implements ModelProvider {
  readonly name = NAME;
  private readonly url: string;
  private readonly apiKey?: string;
  private readonly timeoutMs: number;

  constructor(options: OpenAICompatibleOptions) {
    this.url = `${options.baseUrl.replace(/\/+$/, "")}/chat/completions`;
    this.apiKey = options.apiKey || undefined;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async *stream(request: ModelRequest): AsyncGenerator<ModelStreamEvent, void, undefined> {
    const body = { ...requestBody(request, true), stream_options: { include_usage: true } };
    const call = new UpstreamCall(request.signal, this.timeoutMs);
    try {
      const res = await call.post(this.url, this.headers("text/event-stream"), body);
      const contentType = res.headers.get("content-type") ?? "";
      if (/\bjson\b/i.test(contentType) && !/event-stream/i.test(contentType)) {
        // A server that ignored `stream: true` and answered in one piece.
        const { text, usage } = parseCompletion(await call.readText(res), request.messages);
        call.finished();
        if (text !== "") {
          call.throwIfAborted();
          yield { type: "delta", text };
        }
        call.throwIfAborted();
        yield { type: "done", usage };
        return;
      }
      if (!res.body) throw completionError("Malformed stream: the response has no body");

      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      const parser = new SseDataParser();
      let answer = "";
      let usage: Usage | undefined;
      let sawDone = false;
      let sawFinish = false;
      let sawChunk = false;
      while (!sawDone) {
        const { value, done } = await call.read(reader);
        const events = done ? parser.end(decoder.decode()) : parser.push(decoder.decode(value, { stream: true }));
        for (const data of events) {
          if (data.trim() === "[DONE]") {
            sawDone = true;
            break;
          }
          const chunk = parseJson(data, "Malformed stream");
          if (!isObject(chunk)) throw completionError(`Malformed stream: unexpected event ${truncate(data)}`);
          if (chunk.error !== undefined && chunk.error !== null) throw inBandError(chunk.error);
          sawChunk = true;
          if (isObject(chunk.usage)) usage = toUsage(chunk.usage, request.messages, answer);
          const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
          if (!isObject(choice)) continue;
          if (choice.finish_reason) sawFinish = true;
          const content = isObject(choice.delta) ? choice.delta.content : undefined;
          if (typeof content === "string" && content !== "") {
            answer += content;
            call.throwIfAborted();
            yield { type: "delta", text: content };
          }
        }
        if (done) break;
      }
      // After [DONE] the rest of the body is just the response's end: leave it to undici so the
      // connection goes back to the pool. A stream cut short without [DONE] or a finish_reason is an error.
      call.finished();
      if (!sawDone && !sawFinish) {
        throw completionError(sawChunk ? "Malformed stream: it ended before the answer was complete" : "Malformed stream: it ended without any data");
      }
      call.throwIfAborted();
      yield { type: "done", usage: usage ?? estimateUsage(request.messages, answer) };
    } catch (err) {
      throw call.translate(err);
    } finally {
      call.dispose();
    }
  }

  async complete(request: ModelRequest): Promise<{ text: string; usage: Usage }> {
    const call = new UpstreamCall(request.signal, this.timeoutMs);
    try {
      const res = await call.post(this.url, this.headers("application/json"), requestBody(request, false));
      const result = parseCompletion(await call.readText(res), request.messages);
      call.finished();
      return result;
    } catch (err) {
      throw call.translate(err);
    } finally {
      call.dispose();
    }
  }

  private headers(accept: string): Record<string, string> {
    const headers: Record<string, string> = { "content-type": "application/json", accept };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    return headers;
  }
}

/** One HTTP exchange: the caller's signal, the timeout, and turning failures into the errors we surface. */
class UpstreamCall {
  private readonly controller = new AbortController();
  private readonly onAbort?: () => void;
  private timer?: NodeJS.Timeout;
  private timedOut = false;
  private done = false;

  constructor(
    private readonly signal: AbortSignal | undefined,
    private readonly timeoutMs: number,
  ) {
    if (signal?.aborted) this.controller.abort(signal.reason);
    else if (signal) {
      // Aborts fetch even while the consumer is not pulling (or has walked away from the iterator).
      this.onAbort = () => this.controller.abort(signal.reason);
      signal.addEventListener("abort", this.onAbort, { once: true });
    }
  }

  async post(url: string, headers: Record<string, string>, body: unknown): Promise<Response> {
    this.throwIfAborted();
    const res = await this.timed(fetch(url, { method: "POST", headers, body: JSON.stringify(body), signal: this.controller.signal }));
    if (!res.ok) throw await this.httpError(res);
    return res;
  }

  read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<ReadableStreamReadResult<Uint8Array>> {
    return this.timed(reader.read());
  }

  readText(res: Response): Promise<string> {
    return this.timed(res.text());
  }

  /** The response was read to its end: nothing left to cancel. */
  finished(): void {
    this.done = true;
  }

  throwIfAborted(): void {
    if (this.signal?.aborted) throw abortError(this.signal);
  }

  /** What a failure surfaces as: the caller's abort as is, our own AppErrors as they are, the rest as model errors. */
  translate(err: unknown): unknown {
    if (this.signal?.aborted) return abortError(this.signal, err);
    if (err instanceof AppError) return err;
    if (this.timedOut) return completionError(`Request timed out after ${this.timeoutMs} ms`);
    return completionError(`Connection error: ${describe(err)}`);
  }

  dispose(): void {
    clearTimeout(this.timer);
    if (this.onAbort) this.signal?.removeEventListener("abort", this.onAbort);
    // Stopped early (error, abort, or the consumer left the loop): close the upstream connection.
    if (!this.done && !this.controller.signal.aborted) this.controller.abort(new DOMException("The request was cancelled", "AbortError"));
  }

  private async timed<T>(promise: Promise<T>): Promise<T> {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new DOMException(`No response within ${this.timeoutMs} ms`, "TimeoutError"));
    }, this.timeoutMs);
    try {
      return await promise;
    } finally {
      clearTimeout(this.timer);
    }
  }

  private async httpError(res: Response): Promise<AppError> {
    let text = "";
    try {
      text = await this.timed(res.text());
    } catch (err) {
      if (this.signal?.aborted) throw err;
      // The status alone will do.
    }
    this.done = true;
    const { message, code } = upstreamError(text);
    return mapUpstreamError(res.status, message ?? plainText(text) ?? (res.statusText || http.STATUS_CODES[res.status] || "Unknown error"), code);
  }
}

// ---- Errors ----

function completionError(message: string): AppError {
  return new AppError("completion_request_error", 400, `[${NAME}] ${message}`);
}

/** Dify's codes: bad credentials → provider_not_initialize; unknown model → model_currently_not_support; else completion_request_error. */
export function mapUpstreamError(status: number | undefined, message: string, code?: string): AppError {
  const text = `[${NAME}] ${status ? `Error code: ${status} - ` : "Error: "}${message}`;
  if (status === 401 || status === 403) return new AppError("provider_not_initialize", 400, text);
  if (status === 404 || code === "model_not_found" || /\bmodel\b[\s\S]{0,200}?(does not exist|doesn't exist|not found)/i.test(message)) {
    return new AppError("model_currently_not_support", 400, text);
  }
  return new AppError("completion_request_error", 400, text);
}

/** An `{"error": …}` event inside a 200 stream (vLLM, LiteLLM and others send them). */
function inBandError(error: unknown): AppError {
  const { message, code, status } = errorFields(error);
  return mapUpstreamError(status, message ?? truncate(JSON.stringify(error)), code);
}

/** The message (and code) of an error body: OpenAI's `{error:{message,code}}`, or `{error:"…"}`, `{message}`, `{detail}`. */
export function upstreamError(text: string): { message?: string; code?: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {};
  }
  if (!isObject(json)) return {};
  if (json.error !== undefined && json.error !== null) return errorFields(json.error);
  if (typeof json.message === "string" && json.message) return { message: json.message };
  if (typeof json.detail === "string" && json.detail) return { message: json.detail };
  return {};
}

function errorFields(error: unknown): { message?: string; code?: string; status?: number } {
  if (typeof error === "string") return { message: error || undefined };
  if (!isObject(error)) return {};
  const message = typeof error.message === "string" && error.message ? error.message : undefined;
  const code = typeof error.code === "string" ? error.code : undefined;
  const status = typeof error.code === "number" && error.code >= 400 && error.code < 600 ? error.code : undefined;
  return { message, code, status };
}

/** A short non-HTML error body is worth showing as it is. */
export function plainText(text: string): string | undefined {
  const trimmed = text.trim();
  return trimmed && !trimmed.startsWith("<") ? truncate(trimmed) : undefined;
}

export function describe(err: unknown): string {
  // undici: TypeError("fetch failed", { cause: Error("connect ECONNREFUSED …") }), TypeError("terminated", { cause: SocketError })
  const cause = isObject(err) ? err.cause : undefined;
  const message = (e: unknown) => (e instanceof Error ? e.message : isObject(e) && typeof e.message === "string" ? e.message : "");
  return message(cause) || message(err) || String(err);
}

function truncate(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

// ---- Request and response bodies ----

function requestBody(request: ModelRequest, stream: boolean): Record<string, unknown> {
  const messages = request.messages.map((m: ChatMessage) => ({ role: m.role, content: m.content }));
  return { model: request.model, messages, stream, ...mapParams(request.params ?? {}) };
}

const FLOAT_PARAMS = ["temperature", "top_p", "presence_penalty", "frequency_penalty"] as const;
const INT_PARAMS = ["max_tokens", "seed"] as const;

/** Dify's completion_params as OpenAI's request fields; unknown keys and unusable values are left out. */
export function mapParams(params: CompletionParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of FLOAT_PARAMS) {
    const n = toNumber(params[key]);
    if (n !== undefined) out[key] = n;
  }
  for (const key of INT_PARAMS) {
    const n = toNumber(params[key]);
    if (n !== undefined) out[key] = Math.trunc(n);
  }
  const stop = params.stop;
  const stops = (typeof stop === "string" ? [stop] : Array.isArray(stop) ? stop : []).filter((s): s is string => typeof s === "string" && s !== "");
  if (stops.length > 0) out.stop = stops;
  const responseFormat = mapResponseFormat(params.response_format, params.json_schema);
  if (responseFormat) out.response_format = responseFormat;
  return out;
}

/** Dify keeps `response_format` as a string ("text", "json_object", "json_schema" + a `json_schema` param); OpenAI wants `{type}`. */
function mapResponseFormat(format: unknown, jsonSchema: unknown): Record<string, unknown> | undefined {
  if (isObject(format) && typeof format.type === "string") return format;
  if (typeof format !== "string" || format === "") return undefined;
  if (format !== "json_schema") return { type: format };
  let schema = jsonSchema;
  if (typeof schema === "string") {
    try {
      schema = JSON.parse(schema);
    } catch {
      schema = undefined;
    }
  }
  if (!isObject(schema)) throw completionError("response_format json_schema needs a valid json_schema parameter");
  return { type: "json_schema", json_schema: schema };
}

function toNumber(value: unknown): number | undefined {
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** A non-streaming `chat.completion` body: its text and usage (estimated when the server sent none). */
function parseCompletion(text: string, messages: ChatMessage[]): { text: string; usage: Usage } {
  const json = parseJson(text, "Malformed response");
  if (!isObject(json)) throw completionError(`Malformed response: ${truncate(text)}`);
  if (json.error !== undefined && json.error !== null) throw inBandError(json.error);
  const choice = Array.isArray(json.choices) ? json.choices[0] : undefined;
  const message = isObject(choice) ? choice.message : undefined;
  if (!isObject(message)) throw completionError(`Malformed response: no choices[0].message in ${truncate(text)}`);
  const answer = typeof message.content === "string" ? message.content : "";
  return { text: answer, usage: isObject(json.usage) ? toUsage(json.usage, messages, answer) : estimateUsage(messages, answer) };
}

function toUsage(usage: Record<string, unknown>, messages: ChatMessage[], answer: string): Usage {
  const estimate = estimateUsage(messages, answer);
  const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.trunc(v) : undefined);
  const promptTokens = count(usage.prompt_tokens) ?? estimate.promptTokens;
  const completionTokens = count(usage.completion_tokens) ?? estimate.completionTokens;
  return { promptTokens, completionTokens, totalTokens: count(usage.total_tokens) ?? promptTokens + completionTokens };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw completionError(`${what}: invalid JSON ${truncate(text)}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---- Server-sent events ----

/**
 * Turns a decoded SSE body into the `data` of each event. Handles LF, CRLF and CR line ends (also when
 * a CRLF is split across reads), lines split across reads, comments (`: keep-alive`), other fields
 * (`event:`, `id:`, `retry:`), and multi-line data. Tolerates servers that leave out the blank line
 * between events: a new `data:` line after a complete JSON value (or [DONE]) starts a new event.
 */
export class SseDataParser {
  private buffer = "";
  private data: string[] = [];

  push(text: string): string[] {
    this.buffer += text;
    const events: string[] = [];
    let start = 0;
    const lineEnd = /\r\n|\r|\n/g;
    for (;;) {
      lineEnd.lastIndex = start;
      const match = lineEnd.exec(this.buffer);
      if (!match) break;
      // A CR at the very end may be the first half of a CRLF: wait for the next read.
      if (match[0] === "\r" && match.index === this.buffer.length - 1) break;
      this.line(this.buffer.slice(start, match.index), events);
      start = match.index + match[0].length;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** The body ended: what is left is a last line, and a last event even without its blank line. */
  end(text = ""): string[] {
    const events = this.push(text);
    const rest = this.buffer.replace(/\r$/, "");
    this.buffer = "";
    if (rest !== "") this.line(rest, events);
    this.flush(events);
    return events;
  }

  private line(line: string, events: string[]): void {
    if (line === "") return this.flush(events);
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    if (field !== "data") return;
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (this.data.length > 0 && isCompleteData(this.data.join("\n"))) this.flush(events);
    this.data.push(value);
  }

  private flush(events: string[]): void {
    if (this.data.length === 0) return;
    events.push(this.data.join("\n"));
    this.data = [];
  }
}

function isCompleteData(data: string): boolean {
  if (data.trim() === "[DONE]") return true;
  try {
    JSON.parse(data);
    return true;
  } catch {
    return false;
  }
}
