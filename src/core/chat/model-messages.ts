// What a model is sent and answers, as chat apps and the workflow LLM node both need it: the user's
// images on their message, and a rough token count where the model reports none.
import { messageText, type ChatMessage, type ContentPart } from "../ports/model.js";

/** The images as image_url parts of the last user message. */
export function withImages(messages: ChatMessage[], urls: string[], detail?: string): ChatMessage[] {
  const last = messages.findLastIndex((m) => m.role === "user");
  if (!urls.length || last < 0) return messages;
  const parts: ContentPart[] = [
    { type: "text", text: messageText(messages[last].content) },
    ...urls.map((url): ContentPart => ({ type: "image_url", image_url: { url, detail: detail === "low" ? "low" : "high" } })),
  ];
  return messages.map((m, i) => (i === last ? { role: "user", content: parts } : m));
}

/** A rough token count (about four characters a token), enough to budget history. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
