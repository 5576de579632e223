// Dify's `sensitive_word_avoidance` of type "keywords": a list of words (one a line), matched
// case-insensitively as substrings of the inputs and query, or of the answer; a match is answered
// with the side's preset response instead. Pure: the caller decides what to do with a flag.

export type KeywordModeration = {
  /** The inputs side's preset response when any input value or the query contains a keyword, else null. */
  checkInputs(inputs: Record<string, unknown>, query: string): string | null;
  /** The outputs side's preset response when the text contains a keyword, else null. */
  checkOutput(text: string): string | null;
};

/** Answered when a side is enabled but its preset_response is missing or blank. */
export const DEFAULT_PRESET_RESPONSE = "Your content violates our usage policy. Please revise and try again.";

/**
 * The moderation `model_config.sensitive_word_avoidance` asks for, or null when there is none to
 * apply: absent, disabled, another type (openai_moderation, api), no keywords, or both sides off.
 */
export function keywordModeration(config: unknown): KeywordModeration | null {
  if (!isObject(config) || config.enabled !== true || config.type !== "keywords") return null;
  const configs = isObject(config.configs) ? config.configs : {};
  const keywords = (typeof configs.keywords === "string" ? configs.keywords : "")
    .split(/\r?\n/)
    // Dify drops empty lines only; a keyword keeps its inner spaces.
    .filter((k) => k.trim() !== "")
    .map((k) => k.toLowerCase());
  const inputsResponse = side(configs.inputs_config);
  const outputsResponse = side(configs.outputs_config);
  if (keywords.length === 0 || (inputsResponse === null && outputsResponse === null)) return null;

  const matches = (text: string) => {
    const lower = text.toLowerCase();
    return keywords.some((k) => lower.includes(k));
  };

  return {
    checkInputs(inputs, query) {
      if (inputsResponse === null) return null;
      const values = [...Object.values(inputs), query];
      return values.some((v) => v !== null && v !== undefined && matches(valueText(v))) ? inputsResponse : null;
    },
    checkOutput(text) {
      if (outputsResponse === null) return null;
      return matches(text) ? outputsResponse : null;
    },
  };
}

/** The side's preset response when it is enabled, else null. */
function side(value: unknown): string | null {
  if (!isObject(value) || value.enabled !== true) return null;
  const preset = typeof value.preset_response === "string" ? value.preset_response : "";
  return preset.trim() !== "" ? preset : DEFAULT_PRESET_RESPONSE;
}

function valueText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
