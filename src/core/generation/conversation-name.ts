// Auto-naming a conversation (POST /conversations/{id}/name with auto_generate), as Dify's
// LLMGenerator.generate_conversation_name does: the model is asked for a JSON object whose
// "Your Output" is the title; a reply that is not such JSON names the conversation after the query.
import { jsonrepair } from "jsonrepair";
import type { App } from "../../generated/prisma/client.js";
import type { ModelProvider } from "../ports/model.js";

/** Dify's CONVERSATION_TITLE_PROMPT (api/core/llm_generator/prompts.py); the query follows it. */
export const CONVERSATION_TITLE_PROMPT = `You are asked to generate a concise chat title by decomposing the user’s input into two parts: “Intention” and “Subject”.

1. Detect Input Language
Automatically identify the language of the user’s input (e.g. English, Chinese, Italian, Español, Arabic, Japanese, French, and etc.).

2. Generate Title
- Combine Intention + Subject into a single, as-short-as-possible phrase.
- The title must be natural, friendly, and in the same language as the input.
- If the input is a direct question to the model, you may add an emoji at the end.

3. Output Format
Return **only** a valid JSON object with these exact keys and no additional text:
{
  "Language Type": "<Detected language>",
  "Your Reasoning": "<Brief explanation in that language>",
  "Your Output": "<Intention + Subject>"
}

User Input:
`;

const MAX_NAME_CHARS = 75;

/** Characters as Python counts them (code points), so cuts match Dify's. */
const chars = (s: string) => [...s];

/** The query as Dify sends it: over 2000 characters, its first and last 300; newlines as spaces. */
export function titleQuery(query: string): string {
  const cs = chars(query);
  const kept = cs.length > 2000 ? `${cs.slice(0, 300).join("")}...[TRUNCATED]...${cs.slice(-300).join("")}` : query;
  return kept.replaceAll("\n", " ");
}

/** The object a reply holds: JSON, or JSON the repair library can mend (a code fence, a cut-off end). */
function replyObject(reply: string): unknown {
  try {
    return JSON.parse(reply);
  } catch {
    try {
      return JSON.parse(jsonrepair(reply));
    } catch {
      return null;
    }
  }
}

/**
 * The name for a reply to the title prompt: its "Your Output" when that is a non-blank string, else
 * the (sent) query; cut to 75 characters plus "...". An empty reply gives "".
 */
export function conversationNameOf(reply: string, sentQuery: string): string {
  if (reply === "") return "";
  const parsed = replyObject(reply);
  const output = parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>)["Your Output"] : undefined;
  const name = (typeof output === "string" && output.trim() ? output : sentQuery).trim();
  const cs = chars(name);
  return cs.length > MAX_NAME_CHARS ? `${cs.slice(0, MAX_NAME_CHARS).join("")}...` : name;
}

/** Names a conversation after its first query with the app's model. */
export function conversationNameGenerator(models: ModelProvider, app: Pick<App, "modelConfig">) {
  const model = (app.modelConfig as { model?: { name?: string } } | null)?.model?.name || "gpt-4o-mini";
  return async (firstQuery: string): Promise<string> => {
    const query = titleQuery(firstQuery);
    const { text } = await models.complete({
      model,
      messages: [{ role: "user", content: `${CONVERSATION_TITLE_PROMPT}${query}\n` }],
      params: { max_tokens: 500, temperature: 1 },
    });
    return conversationNameOf(text, query);
  };
}
