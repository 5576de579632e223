// The zero-config default: no model at all. It answers from the prompt, and says so plainly, so the
// demo app works with nothing configured and nobody mistakes its answer for a model's.
import { abortError, throwIfAborted } from "../abort.js";
import { messageText, type ChatMessage, type ModelProvider, type ModelRequest, type ModelStreamEvent, type Usage } from "../../core/ports/model.js";

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
