// GET /messages/{id}/suggested-questions: three follow-up questions from the model, after the answer.
import type { Viewer } from "../auth/passport.service.js";
import { requireChatApp } from "../apps/modes.js";
import { ownConversations, ownMessages, optionalUuid } from "../conversations/scope.js";
import { AppError, notFound } from "../errors.js";
import type { GenerationDeps } from "./generate.js";

// Dify's instruction (SUGGESTED_QUESTIONS_AFTER_ANSWER_INSTRUCTION_PROMPT), so answers look alike.
const INSTRUCTION =
  "Please help me predict the three most likely questions that human would ask, and keeping each question under 20 characters.\n" +
  "MAKE SURE your output is the SAME language as the Assistant's latest response. " +
  'The output must be an array in JSON format following the specified schema:\n["question1","question2","question3"]\n';

const EXCHANGES = 3;
const MAX_HISTORY_CHARS = 12_000; // about Dify's 3000 tokens

/** The first JSON array of strings in the model's text; anything else yields none, as in Dify. */
export function parseQuestions(text: string): string[] {
  const match = text.match(/\[[\s\S]*\]/);
  if (!match) return [];
  try {
    const value = JSON.parse(match[0]);
    return Array.isArray(value) ? value.filter((q): q is string => typeof q === "string" && q.trim() !== "").slice(0, 3) : [];
  } catch {
    return [];
  }
}

export async function suggestedQuestions(deps: Pick<GenerationDeps, "db" | "models" | "log">, viewer: Viewer, messageId: string): Promise<string[]> {
  requireChatApp(viewer.app);
  const id = optionalUuid(messageId, "message_id");
  const message = id ? await deps.db.message.findFirst({ where: { id, ...ownMessages(viewer) } }) : null;
  if (!message) throw notFound("Message Not Exists.");
  const conversation = await deps.db.conversation.findFirst({ where: { id: message.conversationId, ...ownConversations(viewer) } });
  if (!conversation) throw notFound("Conversation Not Exists.");
  const config = (viewer.app.modelConfig ?? {}) as { suggested_questions_after_answer?: { enabled?: boolean }; model?: { name?: string } };
  if (!config.suggested_questions_after_answer?.enabled) {
    throw new AppError("app_suggested_questions_after_answer_disabled", 403, "Function Suggested questions after answer disabled.");
  }
  const recent = await deps.db.message.findMany({
    where: { conversationId: conversation.id, ...ownMessages(viewer), createdAt: { lte: message.createdAt } },
    orderBy: { createdAt: "desc" },
    take: EXCHANGES,
    select: { query: true, answer: true },
  });
  const history = recent
    .reverse()
    .map((m) => `Human: ${m.query}\nAssistant: ${m.answer}`)
    .join("\n")
    .slice(-MAX_HISTORY_CHARS);
  try {
    const { text } = await deps.models.complete({
      model: config.model?.name ?? "gpt-4o-mini",
      messages: [{ role: "user", content: `${history}\n\n${INSTRUCTION}` }],
      params: { max_tokens: 256, temperature: 0 },
    });
    return parseQuestions(text);
  } catch (err) {
    // Suggestions are a nicety: a failing model yields none rather than an error page.
    deps.log.warn({ err }, "suggested questions failed");
    return [];
  }
}
