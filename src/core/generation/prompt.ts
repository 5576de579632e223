// Turning an app's simple prompt (model_config.pre_prompt) plus the caller's inputs, query and
// conversation history into the messages a model is sent. Pure: history comes in as data.
import { invalidParam } from "../errors.js";
import type { ChatMessage } from "../ports/model.js";
import type { HistoryTurn } from "../chat/turn.js";
import { estimateTokens } from "../chat/model-messages.js";

// The history budget is counted in these; they stay importable from here, with the prompts.
export { estimateTokens };

// Dify's PromptTemplateParser variable syntax: {{name}}, no spaces, at most 30 characters.
const VARIABLE = /\{\{([a-zA-Z_][a-zA-Z0-9_]{0,29})\}\}/g;

/**
 * Replaces every `{{name}}` whose name is a key of `inputs` with that input's value (strings as they
 * are, numbers and booleans through String, objects as JSON, null/undefined as ""). Placeholders
 * naming no input stay as written, as Dify leaves them. Substituted text is not scanned again.
 */
export function renderTemplate(template: string, inputs: Record<string, unknown>): string {
  return template.replace(VARIABLE, (whole, name: string) => (Object.hasOwn(inputs, name) ? valueText(inputs[name]) : whole));
}

function valueText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export type ChatPromptOptions = {
  prePrompt: string | null | undefined;
  inputs: Record<string, unknown>;
  /** Earlier turns of the conversation, oldest first. */
  history?: HistoryTurn[];
  query: string;
  /** Estimated tokens the history may take; the newest turns that fit are kept. */
  historyTokenBudget?: number;
};

/**
 * A chat app's messages: the rendered pre_prompt as a system message (none when blank), then as many
 * of the most recent history turns as fit the budget (in conversation order, skipping turns that have
 * no answer), then the user's query.
 */
export function buildChatMessages({ prePrompt, inputs, history = [], query, historyTokenBudget = 2000 }: ChatPromptOptions): ChatMessage[] {
  const messages: ChatMessage[] = [];
  const system = renderTemplate(prePrompt ?? "", inputs);
  if (system.trim() !== "") messages.push({ role: "system", content: system });

  const kept: HistoryTurn[] = [];
  let budget = historyTokenBudget;
  for (let i = history.length - 1; i >= 0; i--) {
    const turn = history[i];
    if (!turn.answer || turn.answer.trim() === "") continue;
    const cost = estimateTokens(turn.query) + estimateTokens(turn.answer);
    if (cost > budget) break;
    budget -= cost;
    kept.push(turn);
  }
  for (const turn of kept.reverse()) {
    messages.push({ role: "user", content: turn.query }, { role: "assistant", content: turn.answer });
  }

  messages.push({ role: "user", content: query });
  return messages;
}

export type CompletionPromptOptions = {
  prePrompt: string | null | undefined;
  inputs: Record<string, unknown>;
  query?: string | null;
};

/**
 * A completion app's single user message: the rendered pre_prompt, followed by a blank line and the
 * query when there is one (just the query when the pre_prompt is blank). Refuses an empty prompt.
 */
export function buildCompletionMessages({ prePrompt, inputs, query }: CompletionPromptOptions): ChatMessage[] {
  const prompt = renderTemplate(prePrompt ?? "", inputs);
  const hasPrompt = prompt.trim() !== "";
  const hasQuery = typeof query === "string" && query.trim() !== "";
  if (!hasPrompt && !hasQuery) throw invalidParam("query is required when the app's prompt is empty", "query");
  const content = hasPrompt ? (hasQuery ? `${prompt}\n\n${query}` : prompt) : (query as string);
  return [{ role: "user", content }];
}
