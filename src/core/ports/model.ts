// The one interface every model provider implements. Chat-completions shaped, because every
// backend appgraph talks to (OpenAI, vLLM, Ollama, llama.cpp) speaks OpenAI's wire format.

export type ChatRole = "system" | "user" | "assistant";
/** OpenAI's content parts: text, and images by URL for models that see (an LLM node's vision files). */
export type ContentPart = { type: "text"; text: string } | { type: "image_url"; image_url: { url: string; detail?: "low" | "high" | "auto" } };

export type ChatMessage = { role: ChatRole; content: string | ContentPart[] };

/** The text of a message, its image parts left out. */
export const messageText = (content: ChatMessage["content"]): string =>
  typeof content === "string" ? content : content.map((p) => (p.type === "text" ? p.text : "")).join("");

/** Dify's `completion_params`: temperature, top_p, max_tokens, stop, presence_penalty, frequency_penalty. */
export type CompletionParams = Record<string, unknown>;

export type ModelRequest = {
  /** The model name as the app's DSL names it (e.g. "gpt-4o-mini"). */
  model: string;
  messages: ChatMessage[];
  params?: CompletionParams;
  /** Aborting it cancels the upstream HTTP request. */
  signal?: AbortSignal;
};

export type Usage = { promptTokens: number; completionTokens: number; totalTokens: number };

/** A streamed answer: text deltas in order, then exactly one `done` with the usage. */
export type ModelStreamEvent = { type: "delta"; text: string } | { type: "done"; usage: Usage };

export interface ModelProvider {
  /** "openai-compatible" or "offline"; shown to users so the offline default is never mistaken for a model. */
  readonly name: string;
  stream(request: ModelRequest): AsyncIterable<ModelStreamEvent>;
  complete(request: ModelRequest): Promise<{ text: string; usage: Usage }>;
}
