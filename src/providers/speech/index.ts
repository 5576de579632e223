// Which speech provider a deployment uses: an OpenAI-compatible server when one is configured
// (SPEECH_BASE_URL, else OPENAI_BASE_URL), else the embedded engine that speaks offline.
import type { SpeechConfig } from "../../config.js";
import type { SpeechProvider } from "../../core/ports/speech.js";
import { EmbeddedSpeech } from "./embedded.js";
import { OpenAICompatibleSpeech } from "./openai-compatible.js";

export { EmbeddedSpeech } from "./embedded.js";
export { OpenAICompatibleSpeech, OPENAI_VOICES, type OpenAICompatibleSpeechOptions } from "./openai-compatible.js";

export function createSpeechProvider(config: SpeechConfig): SpeechProvider {
  if (config.baseUrl) return new OpenAICompatibleSpeech(config as SpeechConfig & { baseUrl: string });
  return new EmbeddedSpeech({ voice: config.voice });
}
