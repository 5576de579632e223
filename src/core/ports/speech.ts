// Speech both ways, as the core needs it: speech to text (a recording in, its text out) and text to
// speech (text in, MP3 bytes out as they are made). OpenAI-shaped (`/audio/transcriptions`,
// `/audio/speech`), because the speech servers appgraph talks to speak that wire; with none configured,
// an embedded engine speaks (offline, named as such) and nothing transcribes.
import type { Readable } from "node:stream";

export type TranscriptionRequest = {
  /** The recording, streamed to the provider as it arrives (never held whole). */
  audio: Readable;
  filename: string;
  /** The part's MIME type as the client declared it (audio/mp3, audio/webm, ...). */
  mimeType: string;
  /** The app's speech-to-text model, when it names one; else the provider's default. */
  model?: string;
  /** ISO-639-1, when the app says. */
  language?: string;
  signal?: AbortSignal;
};

export type SpeechRequest = {
  text: string;
  /** A voice the provider knows (the app's text_to_speech.voice, else the provider's default). */
  voice?: string;
  model?: string;
  /** The app's text_to_speech.language (e.g. "en-US"), for engines that pick a voice by language. */
  language?: string;
  signal?: AbortSignal;
};

export interface SpeechProvider {
  /** Shown to users and in logs: "openai-compatible (<url>)", "embedded espeak-ng (offline)". */
  readonly name: string;
  /** False when nothing can transcribe (the offline default): the use case answers a clear 400. */
  readonly transcribes: boolean;
  /** The recording's text. Provider failures are AppErrors (4xx for what the caller sent). */
  transcribe(request: TranscriptionRequest): Promise<string>;
  /** MP3 bytes, in order, as the provider produces them. */
  speak(request: SpeechRequest): AsyncIterable<Buffer>;
  /** The voices it offers, the default first. */
  voices(): readonly string[];
  close(): Promise<void>;
}
