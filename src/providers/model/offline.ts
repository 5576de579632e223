// The zero-config default: no model at all. It answers from the prompt, and says so plainly, so the
// demo app works with nothing configured and nobody mistakes its answer for a model's.
import { messageText, type ChatMessage, type ModelProvider, type ModelRequest, type ModelStreamEvent, type Usage } from "./types.js";

export const OFFLINE_NOTICE = "[offline model — set OPENAI_BASE_URL to use a real one]";

export type OfflineProviderOptions = {
  /** Pause before each word, to make the streaming visible. Default 0 (only yields to the event loop). */
  tokenDelayMs?: number;
};

export class OfflineProvider implements ModelProvider {
  readonly name = "offline";
  private readonly tokenDelayMs: number;

  constructor(options: OfflineProviderOptions = {}) {
    this.tokenDelayMs = Math.max(0, options.tokenDelayMs ?? 0);
  }

  async *stream(request: ModelRequest): AsyncGenerator<ModelStreamEvent, void, undefined> {
    const { signal } = request;
    throwIfAborted(signal);
    const answer = offlineAnswer(request.messages);
    for (const word of splitWords(answer)) {
      await pause(this.tokenDelayMs, signal);
      yield { type: "delta", text: word };
    }
    throwIfAborted(signal);
    yield { type: "done", usage: estimateUsage(request.messages, answer) };
  }

  async complete(request: ModelRequest): Promise<{ text: string; usage: Usage }> {
    throwIfAborted(request.signal);
    const text = offlineAnswer(request.messages);
    return { text, usage: estimateUsage(request.messages, text) };
  }
}

/** The offline answer: the notice, then the last user message echoed back. */
export function offlineAnswer(messages: ChatMessage[]): string {
  const user = messages.findLast((m) => m.role === "user");
  const last = user ? messageText(user.content).trim() : "";
  return last === "" ? `${OFFLINE_NOTICE} You said nothing.` : `${OFFLINE_NOTICE} You said: ${last}`;
}

/** Words with their trailing whitespace (leading whitespace goes with the first); they concatenate back to `text`. */
function splitWords(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text === "" ? [] : [text]);
}

// Shared by the providers (imported by openai-compatible.ts).

/** About four characters a token: the prompt's total characters, and the answer's. */
export function estimateUsage(messages: ChatMessage[], answer: string): Usage {
  const promptChars = messages.reduce((sum, m) => sum + messageText(m.content).length, 0);
  const promptTokens = Math.ceil(promptChars / 4);
  const completionTokens = Math.ceil(answer.length / 4);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
}

/**
 * The error an aborted request surfaces: `err` itself when it already is an AbortError (as fetch
 * rejects with for a plain `abort()`), else the signal's reason when that is one, else a fresh
 * DOMException named "AbortError" (e.g. for `abort(customReason)` or AbortSignal.timeout's TimeoutError).
 */
export function abortError(signal: AbortSignal | undefined, err?: unknown): Error {
  if (isAbortError(err)) return err;
  const reason: unknown = signal?.reason;
  if (isAbortError(reason)) return reason;
  const error = new DOMException("This operation was aborted", "AbortError");
  if (reason !== undefined) Object.defineProperty(error, "cause", { value: reason, configurable: true, writable: true });
  return error;
}

function isAbortError(err: unknown): err is Error {
  return typeof err === "object" && err !== null && (err as { name?: unknown }).name === "AbortError";
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** Waits `ms` (0: one turn of the event loop); rejects with an AbortError as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  throwIfAborted(signal);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clear();
      reject(abortError(signal));
    };
    const done = () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    };
    const handle = ms > 0 ? setTimeout(done, ms) : setImmediate(done);
    const clear = () => (ms > 0 ? clearTimeout(handle as NodeJS.Timeout) : clearImmediate(handle as NodeJS.Immediate));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
