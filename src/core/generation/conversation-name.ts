// Auto-naming a conversation (POST /conversations/{id}/name with auto_generate): the app's model
// titles it after its first query.
import type { App } from "../../generated/prisma/client.js";
import type { ModelProvider } from "../ports/model.js";

const MAX_TITLE_CHARS = 100;
const MAX_PROMPT_QUERY_CHARS = 2000;

/** A model's title, without surrounding quotes or whitespace, at most 100 characters. */
export function cleanTitle(text: string): string {
  const trimmed = text.trim().replace(/^["'`“”‘’«»\s]+|["'`“”‘’«»\s]+$/g, "").replace(/\s+/g, " ");
  return [...trimmed].slice(0, MAX_TITLE_CHARS).join("").trim();
}

/** Names a conversation after its first query with the app's model. */
export function conversationNameGenerator(models: ModelProvider, app: Pick<App, "modelConfig">) {
  const model = (app.modelConfig as { model?: { name?: string } } | null)?.model?.name || "gpt-4o-mini";
  return async (firstQuery: string): Promise<string> => {
    const query = [...firstQuery].slice(0, MAX_PROMPT_QUERY_CHARS).join("");
    const { text } = await models.complete({
      model,
      messages: [{ role: "user", content: `Give a short title (at most 8 words) for a conversation that starts with: ${query}` }],
      params: { max_tokens: 32, temperature: 0 },
    });
    return cleanTitle(text);
  };
}
