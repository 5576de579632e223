// An end user's messages (behaviour.md 2.4, 2.5): the chat history page, feedback, saved messages.
// Every read and write is scoped by ownMessages / ownConversations.
import type { Db } from "../ports/database.js";
import type { Message, MessageAgentThought, MessageFeedback, MessageFile, Prisma } from "../../generated/prisma/client.js";
import type { Viewer } from "../auth/passport.service.js";
import { requireChatApp, requireCompletionApp } from "../apps/modes.js";
import { parseLimit, type Page } from "../pages.js";
import type { Usage } from "../ports/model.js";
import { ownConversations, ownMessages, optionalUuid, uuidOrNull } from "../conversations/scope.js";
import { invalidParam, notFound } from "../errors.js";
import { wellFormedText } from "../text.js";
import type { FileLinks } from "../files/signed-url.js";
import { messageFileRecord, uploadsOf, type MessageFileRecord } from "./message-files.js";

export type { MessageFileRecord };

/** One step of an agent's reasoning. */
export type AgentThoughtRecord = {
  id: string;
  messageId: string;
  position: number;
  thought: string | null;
  tool: string | null;
  toolLabels: Record<string, unknown>;
  toolInput: string | null;
  observation: string | null;
  /** Ids of the message files the step produced. */
  files: string[];
  createdAt: Date;
};

/** What the model was charged for an answer (prices are unknown to a generic endpoint, so zero). */
export type MessageUsage = Usage & { latencySeconds: number };

/** A message: the end user's query, the app's answer, and what belongs to them. */
export type MessageRecord = {
  id: string;
  conversationId: string;
  parentMessageId: string | null;
  inputs: Record<string, unknown>;
  query: string;
  answer: string;
  /** "normal", "paused" or "error". */
  status: string;
  error: string | null;
  files: MessageFileRecord[];
  /** This end user's rating. */
  feedback: { rating: "like" | "dislike" } | null;
  agentThoughts: AgentThoughtRecord[];
  retrieverResources: unknown[];
  usage: MessageUsage | null;
  /** The metadata as the row keeps it (Dify's `message_metadata`, which may come from Dify itself). */
  metadata: Record<string, unknown>;
  createdAt: Date;
};

const pathId = uuidOrNull;

const savedBy = (viewer: Viewer) => ({ appId: viewer.app.id, createdBy: viewer.endUser.id, createdByRole: "end_user" }) as const;

/** What a message item needs beside the row: this end user's feedback, files, thoughts. */
const itemInclude = (viewer: Viewer) =>
  ({
    feedbacks: { where: { fromEndUserId: viewer.endUser.id, fromSource: "user" }, take: 1 },
    files: { orderBy: [{ createdAt: "asc" }, { id: "asc" }] },
    agentThoughts: { orderBy: [{ position: "asc" }, { createdAt: "asc" }] },
  }) satisfies Prisma.MessageInclude;

type MessageWithParts = Message & { feedbacks: MessageFeedback[]; files: MessageFile[]; agentThoughts: MessageAgentThought[] };

function thoughtRecord(t: MessageAgentThought): AgentThoughtRecord {
  return {
    id: t.id,
    messageId: t.messageId,
    position: t.position,
    thought: t.thought,
    tool: t.tool,
    toolLabels: (t.toolLabels ?? {}) as Record<string, unknown>,
    toolInput: t.toolInput,
    observation: t.observation,
    files: Array.isArray(t.messageFiles) ? t.messageFiles.filter((x): x is string => typeof x === "string") : [],
    createdAt: t.createdAt,
  };
}

/** The usage kept in the message's metadata (Dify's shape, see storedMetadata), if any. */
function usageOf(metadata: Record<string, any>): MessageUsage | null {
  const u = metadata.usage;
  if (!u || typeof u !== "object") return null;
  return {
    promptTokens: Number(u.prompt_tokens ?? 0),
    completionTokens: Number(u.completion_tokens ?? 0),
    totalTokens: Number(u.total_tokens ?? 0),
    latencySeconds: Number(u.latency ?? 0),
  };
}

/** The message metadata as stored: Dify's `usage` and `retriever_resources` keys. */
export function storedMetadata(usage: Usage, latencySeconds: number) {
  return {
    usage: {
      prompt_tokens: usage.promptTokens,
      prompt_unit_price: "0",
      prompt_price_unit: "0",
      prompt_price: "0",
      completion_tokens: usage.completionTokens,
      completion_unit_price: "0",
      completion_price_unit: "0",
      completion_price: "0",
      total_tokens: usage.totalTokens,
      total_price: "0",
      currency: "USD",
      latency: Math.round(latencySeconds * 1000) / 1000,
    },
    retriever_resources: [],
  };
}

function messageRecord(links: FileLinks, m: MessageWithParts, uploads: Awaited<ReturnType<typeof uploadsOf>>): MessageRecord {
  const meta = m.messageMetadata;
  const metadata = (meta && typeof meta === "object" && !Array.isArray(meta) ? meta : {}) as Record<string, any>;
  const rating = m.feedbacks[0]?.rating;
  return {
    id: m.id,
    conversationId: m.conversationId,
    parentMessageId: m.parentMessageId,
    inputs: (m.inputs ?? {}) as Record<string, unknown>,
    query: m.query,
    answer: m.answer,
    status: m.status,
    error: m.error,
    files: m.files.map((f) => messageFileRecord(links, f, uploads)),
    feedback: rating === "like" || rating === "dislike" ? { rating } : null,
    agentThoughts: m.agentThoughts.map(thoughtRecord),
    retrieverResources: Array.isArray(metadata.retriever_resources) ? metadata.retriever_resources : [],
    usage: usageOf(metadata),
    metadata,
    createdAt: m.createdAt,
  };
}

/** Strictly older than `ref` in (created_at, id) order; the id only breaks ties. */
const olderThan = (ref: Pick<Message, "createdAt" | "id">): Prisma.MessageWhereInput => ({
  OR: [{ createdAt: { lt: ref.createdAt } }, { createdAt: ref.createdAt, id: { lt: ref.id } }],
});

const newestFirst: Prisma.MessageOrderByWithRelationInput[] = [{ createdAt: "desc" }, { id: "desc" }];

/** One visible message row (any mode), or 404 "Message Not Exists.". */
export async function findOwnMessage(db: Db, viewer: Viewer, id: unknown): Promise<Message> {
  const mid = pathId(id);
  const message = mid ? await db.message.findFirst({ where: { id: mid, ...ownMessages(viewer) } }) : null;
  if (!message) throw notFound("Message Not Exists.");
  return message;
}

export type ListMessagesInput = { conversationId?: string | null; firstId?: string | null; limit?: string | number | null };
export type FeedbackInput = { rating?: unknown; content?: unknown };
export type ListSavedInput = { lastId?: string | null; limit?: string | number | null };

/** An end user's messages: the chat history page, one message, feedback, saved messages. */
export function messageService({ db, links }: { db: Db; links: FileLinks }) {
  async function recordsOf(viewer: Viewer, rows: MessageWithParts[]): Promise<MessageRecord[]> {
    const uploads = await uploadsOf(db, viewer, rows.flatMap((m) => m.files));
    return rows.map((m) => messageRecord(links, m, uploads));
  }

  return {
    /** The newest `limit` messages of a conversation (older than `firstId`), oldest first (chat modes). */
    async list(viewer: Viewer, input: ListMessagesInput): Promise<Page<MessageRecord>> {
      requireChatApp(viewer.app);
      if (input.conversationId === undefined || input.conversationId === null) {
        throw invalidParam("conversation_id is required", "conversation_id");
      }
      const conversationId = optionalUuid(input.conversationId, "conversation_id");
      const firstId = optionalUuid(input.firstId, "first_id");
      const limit = parseLimit(input.limit);
      if (!conversationId) return { limit, hasMore: false, items: [] };

      const conversation = await db.conversation.findFirst({ where: { id: conversationId, ...ownConversations(viewer) }, select: { id: true } });
      if (!conversation) throw notFound("Conversation Not Exists.");
      const inConversation: Prisma.MessageWhereInput = { conversationId: conversation.id, ...ownMessages(viewer) };

      const where: Prisma.MessageWhereInput[] = [inConversation];
      if (firstId) {
        const first = await db.message.findFirst({ where: { ...inConversation, id: firstId }, select: { id: true, createdAt: true } });
        if (!first) throw notFound("First Message Not Exists.");
        where.push(olderThan(first));
      }
      const rows = await db.message.findMany({ where: { AND: where }, orderBy: newestFirst, take: limit + 1, include: itemInclude(viewer) });
      return { limit, hasMore: rows.length > limit, items: await recordsOf(viewer, rows.slice(0, limit).reverse()) };
    },

    /**
     * The first page (the newest `limit`, oldest first) of each of several conversations, in three
     * queries whatever their number: for lists that show each conversation with its latest messages.
     * Conversations that are not the viewer's get no page.
     */
    async firstPages(viewer: Viewer, conversationIds: string[], limitInput: unknown): Promise<Map<string, Page<MessageRecord>>> {
      requireChatApp(viewer.app);
      const limit = parseLimit(limitInput);
      const ids = [...new Set(conversationIds.map(uuidOrNull).filter((id): id is string => id !== null))];
      const own = ids.length ? await db.conversation.findMany({ where: { id: { in: ids }, ...ownConversations(viewer) }, select: { id: true } }) : [];
      const pages = new Map<string, Page<MessageRecord>>(own.map((c) => [c.id, { limit, hasMore: false, items: [] }]));
      if (!own.length) return pages;
      // One index range scan per conversation (conversation_id, created_at), however long it is.
      const newest = await db.$queryRaw<{ id: string }[]>`
        SELECT m.id FROM unnest(${own.map((c) => c.id)}::uuid[]) AS c(id)
        CROSS JOIN LATERAL (
          SELECT id FROM messages
          WHERE conversation_id = c.id AND app_id = ${viewer.app.id}::uuid AND from_source = 'api' AND from_end_user_id = ${viewer.endUser.id}::uuid
          ORDER BY created_at DESC, id DESC
          LIMIT ${limit + 1}
        ) m`;
      const rows = await db.message.findMany({ where: { id: { in: newest.map((r) => r.id) } }, orderBy: newestFirst, include: itemInclude(viewer) });
      const records = await recordsOf(viewer, rows);
      for (const record of records) pages.get(record.conversationId)!.items.push(record);
      for (const page of pages.values()) {
        page.hasMore = page.items.length > limit;
        page.items = page.items.slice(0, limit).reverse();
      }
      return pages;
    },

    /** One visible message (any mode), or 404 "Message Not Exists.". */
    async get(viewer: Viewer, id: string): Promise<MessageRecord> {
      const mid = pathId(id);
      const row = mid ? await db.message.findFirst({ where: { id: mid, ...ownMessages(viewer) }, include: itemInclude(viewer) }) : null;
      if (!row) throw notFound("Message Not Exists.");
      return (await recordsOf(viewer, [row]))[0];
    },

    /** Create, update or (rating null) remove this end user's feedback on a message (any mode). */
    async rate(viewer: Viewer, messageId: string, input: FeedbackInput): Promise<void> {
      const rating = input.rating ?? null;
      if (rating !== null && rating !== "like" && rating !== "dislike") {
        throw invalidParam("rating must be like, dislike or null", "rating");
      }
      const content = input.content ?? null;
      if (content !== null && typeof content !== "string") throw invalidParam("content must be a string", "content");
      if (content !== null) wellFormedText(content, "content");
      const message = await findOwnMessage(db, viewer, messageId);
      const mine = { messageId: message.id, fromEndUserId: viewer.endUser.id, fromSource: "user" } as const;

      if (rating === null) {
        const { count } = await db.messageFeedback.deleteMany({ where: mine });
        if (count === 0) throw invalidParam("rating cannot be None when feedback not exists");
        return;
      }
      await db.messageFeedback.upsert({
        where: { messageId_fromEndUserId: { messageId: message.id, fromEndUserId: viewer.endUser.id } },
        update: { rating, content },
        create: { ...mine, appId: viewer.app.id, conversationId: message.conversationId, rating, content },
      });
    },

    /** The end user's saved messages, newest message first (completion apps). */
    async listSaved(viewer: Viewer, input: ListSavedInput): Promise<Page<MessageRecord>> {
      requireCompletionApp(viewer.app);
      const lastId = optionalUuid(input.lastId, "last_id");
      const limit = parseLimit(input.limit);
      const saved: Prisma.MessageWhereInput = { ...ownMessages(viewer), saved: { some: savedBy(viewer) } };

      const where: Prisma.MessageWhereInput[] = [saved];
      if (lastId) {
        const last = await db.message.findFirst({ where: { ...saved, id: lastId }, select: { id: true, createdAt: true } });
        if (!last) throw invalidParam(""); // Dify's LastMessageNotExistsError: a ValueError without text
        where.push(olderThan(last));
      }
      const rows = await db.message.findMany({ where: { AND: where }, orderBy: newestFirst, take: limit + 1, include: itemInclude(viewer) });
      return { limit, hasMore: rows.length > limit, items: await recordsOf(viewer, rows.slice(0, limit)) };
    },

    /** Save a message (completion apps); idempotent. */
    async save(viewer: Viewer, messageId: unknown): Promise<void> {
      requireCompletionApp(viewer.app);
      if (messageId === undefined || messageId === null) throw invalidParam("message_id is required", "message_id");
      const id = optionalUuid(messageId, "message_id");
      if (!id) throw notFound("Message Not Exists.");
      const message = await findOwnMessage(db, viewer, id);
      await db.savedMessage.createMany({ data: [{ ...savedBy(viewer), messageId: message.id }], skipDuplicates: true });
    },

    /** Forget a saved message (completion apps); a no-op when it is not saved. */
    async unsave(viewer: Viewer, messageId: string): Promise<void> {
      requireCompletionApp(viewer.app);
      const id = pathId(messageId);
      if (!id) return;
      await db.savedMessage.deleteMany({ where: { ...savedBy(viewer), messageId: id } });
    },
  };
}

export type MessageService = ReturnType<typeof messageService>;
