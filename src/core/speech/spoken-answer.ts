// An answer spoken while it streams (Dify's TTS auto-play): the text is cut into sentences as it grows,
// and each is spoken, in order, by one loop beside the generation. `grow` never waits, so the answer's
// text events are never held up by speech; `end` speaks what is left, then says it is done.
import type { Logger } from "pino";
import type { SpeechProvider } from "../ports/speech.js";
import type { SpeechSettings } from "./settings.js";

/** Where the audio goes: a base64 MP3 chunk, or "" with `last` once the answer is all spoken. */
export type SpokenChunkSink = (audio: string, last: boolean) => Promise<unknown>;

// A sentence ends at . ! ? (followed by a space or a line end), at CJK full stops, or at a line break.
const SENTENCE_END = /[.!?]+["')\]]*(?=\s)|[。！？；]+|\n+/g;
// A long run without an end is spoken anyway, at its last space, so speech does not fall far behind.
const MAX_PENDING_CHARS = 400;

export class SpokenAnswer {
  private pending = "";
  private readonly sentences: string[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  /** The speaker failed: nothing more is spoken, but the end still waits for the answer's. */
  private silenced = false;
  private readonly controller = new AbortController();
  private readonly done: Promise<void>;

  constructor(
    private readonly speech: SpeechProvider,
    private readonly settings: Pick<SpeechSettings, "voice" | "language">,
    private readonly sink: SpokenChunkSink,
    private readonly log: Logger,
    signal?: AbortSignal,
  ) {
    signal?.addEventListener("abort", () => this.cancel(), { once: true });
    this.done = this.speakAll();
  }

  /** More of the answer. Returns at once. */
  grow(text: string): void {
    if (this.ended || !text) return;
    this.pending += text;
    let cut = 0;
    for (const match of this.pending.matchAll(SENTENCE_END)) cut = match.index! + match[0].length;
    if (cut === 0 && this.pending.length > MAX_PENDING_CHARS) cut = this.pending.lastIndexOf(" ") + 1 || this.pending.length;
    if (cut > 0) {
      this.queue(this.pending.slice(0, cut));
      this.pending = this.pending.slice(cut);
    }
  }

  /** The answer is complete: speak the rest, then send the last (empty) chunk. Never rejects. */
  async end(): Promise<void> {
    if (!this.ended) {
      this.queue(this.pending);
      this.pending = "";
      this.ended = true;
      this.wake?.();
    }
    await this.done;
  }

  /** Stop speaking (the generation stopped or failed); what is queued is dropped. */
  cancel(): void {
    this.sentences.length = 0;
    this.controller.abort();
    this.ended = true;
    this.wake?.();
  }

  private queue(text: string) {
    if (this.silenced || text.trim() === "") return;
    this.sentences.push(text.trim());
    this.wake?.();
  }

  private async speakAll(): Promise<void> {
    for (;;) {
      const sentence = this.sentences.shift();
      if (sentence === undefined) {
        if (this.ended) break;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      try {
        const request = { text: sentence, voice: this.settings.voice, language: this.settings.language, signal: this.controller.signal };
        for await (const chunk of this.speech.speak(request)) {
          if (this.controller.signal.aborted) break;
          if (chunk.length) await this.sink(chunk.toString("base64"), false);
        }
      } catch (err) {
        // Speech is an extra: a failure silences it, never the answer; its end still follows the answer's.
        if (!this.controller.signal.aborted) this.log.warn({ err, provider: this.speech.name }, "speaking the answer failed");
        this.silenced = true;
        this.sentences.length = 0;
      }
    }
    await this.sink("", true).catch(() => {});
  }
}
