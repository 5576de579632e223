// Which model provider a deployment uses: OpenAI-compatible when OPENAI_BASE_URL is set, else the
// offline stand-in that needs nothing configured.
import type { Config } from "../../config.js";
import { OfflineProvider } from "./offline.js";
import { OpenAICompatibleProvider } from "./openai-compatible.js";
import type { ModelProvider } from "../../core/ports/model.js";

export type * from "../../core/ports/model.js";
export { OfflineProvider, type OfflineProviderOptions } from "./offline.js";
export { OpenAICompatibleProvider, type OpenAICompatibleOptions } from "./openai-compatible.js";

export function createModelProvider(config: Pick<Config, "openaiBaseUrl" | "openaiApiKey">): ModelProvider {
  if (config.openaiBaseUrl) return new OpenAICompatibleProvider({ baseUrl: config.openaiBaseUrl, apiKey: config.openaiApiKey });
  return new OfflineProvider();
}
