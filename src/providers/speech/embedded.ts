// The zero-config speech provider: espeak-ng speaks and LAME encodes MP3, in a worker thread (see
// espeak-engine.ts) so the event loop never waits on them. Offline, nothing transcribes: the use case
// answers Dify's provider_not_support_speech_to_text.
import { AppError } from "../../core/errors.js";
import type { SpeechProvider, SpeechRequest } from "../../core/ports/speech.js";
import { EspeakEngine } from "./espeak-engine.js";
import { chooseEspeakVoice, DEFAULT_ESPEAK_VOICE, ESPEAK_LANGUAGES, espeakVoice } from "./espeak-voices.js";

export type EmbeddedSpeechOptions = {
  /** The voice when a request's voice and language name none espeak has (TEXT_TO_SPEECH_VOICE): a language tag or espeak identifier. Default en-us. */
  voice?: string;
};

export class EmbeddedSpeech implements SpeechProvider {
  readonly name = "embedded espeak-ng (offline)";
  readonly transcribes = false;
  private readonly defaultVoice: string;
  private readonly voiceList: readonly string[];
  private engine?: EspeakEngine;

  constructor(options: EmbeddedSpeechOptions = {}) {
    this.defaultVoice = espeakVoice(options.voice) ?? DEFAULT_ESPEAK_VOICE;
    const first = options.voice && espeakVoice(options.voice) ? options.voice : "en-us";
    this.voiceList = [first, ...ESPEAK_LANGUAGES.filter((v) => v !== first)];
  }

  /** espeak's voices by language tag (en-us, fr-fr, de, …), the default first. */
  voices(): readonly string[] {
    return this.voiceList;
  }

  transcribe(): Promise<string> {
    return Promise.reject(new AppError("provider_not_support_speech_to_text", 400, "No speech-to-text model is configured (the embedded engine only speaks)."));
  }

  /** `voice` when espeak has it (an app may name an OpenAI voice such as alloy: then `language` decides). The model is ignored. */
  speak(request: SpeechRequest): AsyncIterable<Buffer> {
    this.engine ??= new EspeakEngine(DEFAULT_ESPEAK_VOICE);
    return this.engine.speak(request.text, chooseEspeakVoice(request.voice, request.language, this.defaultVoice), request.signal);
  }

  async close(): Promise<void> {
    await this.engine?.close();
  }
}
