// A chat turn before its answer: the query and inputs checked, the end user's conversation found or
// started, the thread so far, and the rows written (in the background). Shared by chat and agent-chat
// apps (answered by a model, src/core/generation) and chatflows (answered by a workflow run,
// src/core/workflows), so it belongs to neither.
import crypto from "node:crypto";
import type { Db } from "../ports/database.js";
import type { Prisma } from "../../generated/prisma/client.js";
import type { ChatMessage } from "../ports/model.js";
import type { Viewer } from "../auth/passport.service.js";
import { ownConversations, ownMessages, optionalUuid } from "../conversations/scope.js";
import { invalidParam, notFound } from "../errors.js";
import { wellFormedText } from "../text.js";
import type { FileValue } from "../files/file-refs.js";
import { filesAmong, markUsed, resolveFileInputs, type RequestFilesDeps } from "../files/request-files.js";
import { messageFileRow } from "../messages/message-files.js";
import { validateInputs } from "../apps/inputs.js";

/** One earlier exchange of the conversation, as a prompt's memory shows it. */
export type HistoryTurn = { query: string; answer: string };

export type ChatRequest = {
  query?: unknown;
  inputs?: unknown;
  conversationId?: unknown;
  parentMessageId?: unknown;
  files?: unknown;
  /** The caller streams the events: only then is the answer spoken as it grows (TTS auto-play). */
  streaming?: boolean;
};

const HISTORY_MESSAGES = 100;

/** The query as Dify takes it: required (and not blank) for chat, optional for completion; NUL stripped. */
export function requireQuery(query: unknown, required: boolean): string {
  if (query === undefined || query === null) {
    if (required) throw invalidParam("query is required", "query");
    return "";
  }
  if (typeof query !== "string") throw invalidParam("query must be a string", "query");
  if (required && query.trim() === "") throw invalidParam("query is required", "query");
  // NUL is dropped, as Dify does; a lone surrogate cannot be stored and is the client's error.
  return wellFormedText(query.replaceAll("\u0000", ""), "query");
}

/** Dify names a new conversation after the first 20 characters of its first query. */
export const conversationNameOf = (query: string) => {
  const chars = [...query.trim()];
  return chars.length > 20 ? `${chars.slice(0, 20).join("")}…` : chars.join("");
};

/** A new chat turn: the conversation (found or started) and the message waiting for its answer. */
export type ChatTurn = {
  /** Settles when both rows are written; the answer need not wait for it, only its saving does. */
  stored: Promise<void>;
  conversationId: string;
  messageId: string;
  createdAt: Date;
  query: string;
  inputs: Record<string, unknown>;
  history: HistoryTurn[];
  dialogueCount: number;
  prompt: ChatMessage[];
};

/**
 * Everything a chat turn checks and stores before its answer starts, shared by chat, agent-chat and
 * chatflow apps: the query, the conversation (the end user's own), its inputs (validated on the first
 * turn, then kept), the thread so far and the parent message.
 */
export async function openChatTurn(
  deps: RequestFilesDeps,
  viewer: Viewer,
  req: ChatRequest,
  opts: {
    form: Record<string, unknown>[];
    introduction: string | null;
    modelId: string | null;
    prompt?: (t: { inputs: Record<string, unknown>; history: HistoryTurn[]; query: string }) => ChatMessage[];
    /** The user's files of this turn, kept as the message's files. */
    files?: FileValue[];
    /** Work that may still refuse the turn (fetching its remote images), after its checks and before any write. */
    beforeWrite?: (t: { inputs: Record<string, unknown> }) => Promise<void>;
  },
): Promise<ChatTurn> {
  const { db } = deps;
  const query = requireQuery(req.query, true);
  const conversationId = optionalUuid(req.conversationId, "conversation_id");
  const parentId = optionalUuid(req.parentMessageId, "parent_message_id");
  const conversation = conversationId
    ? await db.conversation.findFirst({ where: { id: conversationId, ...ownConversations(viewer) } })
    : null;
  if (conversationId && !conversation) throw notFound("Conversation Not Exists.");
  // An existing conversation keeps the inputs it started with, as in Dify.
  const inputs = conversation ? (conversation.inputs as Record<string, unknown>) : await resolveFileInputs(deps, viewer, opts.form, validateInputs(opts.form, req.inputs ?? {}));
  const thread = conversation ? await threadOf(db, viewer, conversation.id, parentId) : { parentId: null, history: [] };
  const prompt = opts.prompt?.({ inputs, history: thread.history, query }) ?? [];
  await opts.beforeWrite?.({ inputs });

  // The ids are made here and the rows written in the background: the model request need not wait
  // for the database (on embedded PGlite, those writes hold up this whole thread for a few ms).
  const now = new Date();
  const conversationRow = conversation ?? { id: crypto.randomUUID(), dialogueCount: 0 };
  const messageId = crypto.randomUUID();
  const files = opts.files ?? [];
  const stored = db
    .$transaction(async (tx) => {
      if (conversation) {
        await tx.conversation.update({ where: { id: conversation.id }, data: { updatedAt: now, dialogueCount: { increment: 1 } } });
      } else {
        await tx.conversation.create({
          data: {
            id: conversationRow.id,
            appId: viewer.app.id,
            mode: viewer.app.mode,
            name: conversationNameOf(query),
            inputs: inputs as Prisma.InputJsonValue,
            introduction: opts.introduction,
            fromEndUserId: viewer.endUser.id,
            modelId: opts.modelId,
            dialogueCount: 1,
            createdAt: now,
            updatedAt: now,
          },
        });
      }
      await tx.message.create({
        data: {
          id: messageId,
          appId: viewer.app.id,
          conversationId: conversationRow.id,
          parentMessageId: thread.parentId,
          inputs: inputs as Prisma.InputJsonValue,
          query,
          message: prompt as unknown as Prisma.InputJsonValue,
          fromEndUserId: viewer.endUser.id,
          appMode: viewer.app.mode,
          agentBased: viewer.app.mode === "agent-chat",
          createdAt: now,
        },
      });
      if (files.length) {
        await tx.messageFile.createMany({
          data: files.map((f) => ({ ...messageFileRow(f, viewer, now), messageId })),
        });
      }
      await markUsed(tx, viewer, [...files, ...filesAmong(Object.values(inputs))], now);
    })
    .then(() => undefined);
  stored.catch(() => {}); // awaited (and reported) where the answer is saved
  return {
    stored,
    conversationId: conversationRow.id,
    messageId,
    createdAt: now,
    query,
    inputs,
    history: thread.history,
    dialogueCount: conversationRow.dialogueCount + 1,
    prompt,
  };
}

/** The conversation's thread up to the parent message (default: its latest), oldest first. */
export async function threadOf(db: Db, viewer: Viewer, conversationId: string, parentId: string | null) {
  const rows = await db.message.findMany({
    where: { conversationId, ...ownMessages(viewer) },
    orderBy: { createdAt: "desc" },
    take: HISTORY_MESSAGES,
    select: { id: true, parentMessageId: true, query: true, answer: true },
  });
  if (parentId && !rows.some((r) => r.id === parentId)) throw notFound("Message Not Exists.");
  const byId = new Map(rows.map((r) => [r.id, r]));
  const history: HistoryTurn[] = [];
  let at: string | null | undefined = parentId ?? rows[0]?.id;
  while (at && byId.has(at)) {
    const row: { parentMessageId: string | null; query: string; answer: string } = byId.get(at)!;
    history.unshift({ query: row.query, answer: row.answer });
    byId.delete(at); // a cycle cannot loop forever
    at = row.parentMessageId;
  }
  return { parentId: parentId ?? rows[0]?.id ?? null, history };
}
