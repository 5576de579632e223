// The zero-config speech provider: espeak-ng (WASM) speaks, LAME (pure JS) encodes MP3, both in a
// worker thread so the event loop never waits on them. Nothing transcribes offline.
import { AppError } from "../../core/errors.js";
import type { SpeechProvider, SpeechRequest } from "../../core/ports/speech.js";

export type EmbeddedSpeechOptions = { voice?: string };

export class EmbeddedSpeech implements SpeechProvider {
  readonly name = "embedded espeak-ng (offline)";
  readonly transcribes = false;

  constructor(private readonly options: EmbeddedSpeechOptions = {}) {}

  voices(): readonly string[] {
    return [this.options.voice || "en-us"];
  }

  transcribe(): Promise<string> {
    return Promise.reject(new AppError("provider_not_support_speech_to_text", 400, "No speech-to-text model is configured."));
  }

  // eslint-disable-next-line require-yield
  async *speak(_request: SpeechRequest): AsyncGenerator<Buffer, void, undefined> {
    throw new AppError("provider_not_support_text_to_speech", 400, "The embedded speech engine is not built yet.");
  }

  async close(): Promise<void> {}
}
