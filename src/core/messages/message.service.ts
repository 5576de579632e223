// An end user's messages (behaviour.md 2.4, 2.5): the chat history page, feedback, saved messages.
// Every read and write is scoped by ownMessages / ownConversations.
import type { Db } from "../ports/database.js";
import type { Message, MessageAgentThought, MessageFeedback, MessageFile, Prisma } from "../../generated/prisma/client.js";
import type { Viewer } from "../auth/passport.service.js";
import { requireChatApp, requireCompletionApp } from "../apps/modes.js";
import { type Page, parseLimit, unixSeconds } from "../conversations/conversation.service.js";
import { ownConversations, ownMessages, optionalUuid, UUID, uuidOrNull } from "../conversations/scope.js";
import { invalidParam, notFound } from "../errors.js";

export type MessageFileJson = {
  id: string;
  filename: string | null;
  type: string;
  url: string | null;
  mime_type: string | null;
  size: number | null;
  transfer_method: string;
  belongs_to: string;
  upload_file_id: string | null;
};

export type FeedbackJson = { rating: string } | null;

export type AgentThoughtJson = {
  id: string;
  chain_id: null;
  message_id: string;
  position: number;
  thought: string | null;
  tool: string | null;
  tool_labels: unknown;
  tool_input: string | null;
  created_at: number;
  observation: string | null;
  files: string[];
};

export type WebMessageListItem = {
  id: string;
  conversation_id: string;
  parent_message_id: string | null;
  inputs: unknown;
  query: string;
  answer: string;
  message_files: MessageFileJson[];
  feedback: FeedbackJson;
  retriever_resources: unknown[];
  created_at: number;
  agent_thoughts: AgentThoughtJson[];
  status: string;
  error: string | null;
  extra_contents: unknown[];
  metadata: unknown;
};

export type SavedMessageItem = Pick<WebMessageListItem, "id" | "inputs" | "query" | "answer" | "message_files" | "feedback" | "created_at">;

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

type UploadInfo = { name: string; mimeType: string | null; size: number };

/** Name, type and size of the uploads the files refer to (this app's only). */
async function uploadsOf(db: Db, viewer: Viewer, rows: MessageWithParts[]): Promise<Map<string, UploadInfo>> {
  const ids = [...new Set(rows.flatMap((m) => m.files.map((f) => f.uploadFileId).filter((id): id is string => !!id)))];
  if (!ids.length) return new Map();
  const uploads = await db.uploadFile.findMany({
    where: { id: { in: ids }, appId: viewer.app.id },
    select: { id: true, name: true, mimeType: true, size: true },
  });
  return new Map(uploads.map((u) => [u.id, u]));
}

function fileJson(f: MessageFile, uploads: Map<string, UploadInfo>): MessageFileJson {
  const upload = f.uploadFileId ? uploads.get(f.uploadFileId) : undefined;
  return {
    id: f.id,
    filename: upload?.name ?? null,
    type: f.type,
    url: f.url ?? null,
    mime_type: upload?.mimeType ?? null,
    size: upload?.size ?? null,
    transfer_method: f.transferMethod,
    belongs_to: f.belongsTo,
    upload_file_id: f.uploadFileId ?? null,
  };
}

const feedbackJson = (m: MessageWithParts): FeedbackJson => (m.feedbacks[0] ? { rating: m.feedbacks[0].rating } : null);

function thoughtJson(t: MessageAgentThought): AgentThoughtJson {
  return {
    id: t.id,
    chain_id: null,
    message_id: t.messageId,
    position: t.position,
    thought: t.thought,
    tool: t.tool,
    tool_labels: t.toolLabels ?? {},
    tool_input: t.toolInput,
    created_at: unixSeconds(t.createdAt),
    observation: t.observation,
    files: Array.isArray(t.messageFiles) ? t.messageFiles.filter((x): x is string => typeof x === "string") : [],
  };
}

function metadataOf(m: Message): Record<string, unknown> {
  const meta = m.messageMetadata;
  return meta && typeof meta === "object" && !Array.isArray(meta) ? (meta as Record<string, unknown>) : {};
}

function listItem(m: MessageWithParts, uploads: Map<string, UploadInfo>): WebMessageListItem {
  const metadata = metadataOf(m);
  return {
    id: m.id,
    conversation_id: m.conversationId,
    parent_message_id: m.parentMessageId,
    inputs: m.inputs ?? {},
    query: m.query,
    answer: m.answer,
    message_files: m.files.map((f) => fileJson(f, uploads)),
    feedback: feedbackJson(m),
    retriever_resources: Array.isArray(metadata.retriever_resources) ? metadata.retriever_resources : [],
    created_at: unixSeconds(m.createdAt),
    agent_thoughts: m.agentThoughts.map(thoughtJson),
    status: m.status,
    error: m.error,
    extra_contents: [],
    metadata,
  };
}

function savedItem(m: MessageWithParts, uploads: Map<string, UploadInfo>): SavedMessageItem {
  return {
    id: m.id,
    inputs: m.inputs ?? {},
    query: m.query,
    answer: m.answer,
    message_files: m.files.map((f) => fileJson(f, uploads)),
    feedback: feedbackJson(m),
    created_at: unixSeconds(m.createdAt),
  };
}

/** Strictly older than `ref` in (created_at, id) order; the id only breaks ties. */
const olderThan = (ref: Pick<Message, "createdAt" | "id">): Prisma.MessageWhereInput => ({
  OR: [{ createdAt: { lt: ref.createdAt } }, { createdAt: ref.createdAt, id: { lt: ref.id } }],
});

const newestFirst: Prisma.MessageOrderByWithRelationInput[] = [{ createdAt: "desc" }, { id: "desc" }];

/** One visible message (any mode), or 404 "Message Not Exists.". */
export async function getMessage(db: Db, viewer: Viewer, id: string): Promise<Message> {
  const mid = pathId(id);
  const message = mid ? await db.message.findFirst({ where: { id: mid, ...ownMessages(viewer) } }) : null;
  if (!message) throw notFound("Message Not Exists.");
  return message;
}

export type ListMessagesInput = { conversationId?: string | null; firstId?: string | null; limit?: string | number | null };

/** GET /messages: the newest `limit` messages (older than `first_id`), oldest first. */
export async function listMessages(db: Db, viewer: Viewer, input: ListMessagesInput): Promise<Page<WebMessageListItem>> {
  requireChatApp(viewer.app);
  if (input.conversationId === undefined || input.conversationId === null) {
    throw invalidParam("conversation_id is required", "conversation_id");
  }
  const conversationId = optionalUuid(input.conversationId, "conversation_id");
  const firstId = optionalUuid(input.firstId, "first_id");
  const limit = parseLimit(input.limit);
  if (!conversationId) return { limit, has_more: false, data: [] };

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
  const has_more = rows.length > limit;
  const page = rows.slice(0, limit).reverse();
  const uploads = await uploadsOf(db, viewer, page);
  return { limit, has_more, data: page.map((m) => listItem(m, uploads)) };
}

export type FeedbackInput = { rating?: unknown; content?: unknown };

/** POST /messages/{id}/feedbacks (any mode): create, update or (rating null) remove this end user's feedback. */
export async function createFeedback(db: Db, viewer: Viewer, messageId: string, input: FeedbackInput): Promise<void> {
  const rating = input.rating ?? null;
  if (rating !== null && rating !== "like" && rating !== "dislike") {
    throw invalidParam("rating must be like, dislike or null", "rating");
  }
  const content = input.content ?? null;
  if (content !== null && typeof content !== "string") throw invalidParam("content must be a string", "content");
  const message = await getMessage(db, viewer, messageId);
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
}

export type ListSavedInput = { lastId?: string | null; limit?: string | number | null };

/** GET /saved-messages (completion): the end user's saved messages, newest message first. */
export async function listSavedMessages(db: Db, viewer: Viewer, input: ListSavedInput): Promise<Page<SavedMessageItem>> {
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
  const has_more = rows.length > limit;
  const page = rows.slice(0, limit);
  const uploads = await uploadsOf(db, viewer, page);
  return { limit, has_more, data: page.map((m) => savedItem(m, uploads)) };
}

/** POST /saved-messages (completion): idempotent. */
export async function saveMessage(db: Db, viewer: Viewer, messageId: unknown): Promise<void> {
  requireCompletionApp(viewer.app);
  if (messageId === undefined || messageId === null) throw invalidParam("message_id is required", "message_id");
  const id = optionalUuid(messageId, "message_id");
  if (!id) throw notFound("Message Not Exists.");
  const message = await getMessage(db, viewer, id);
  await db.savedMessage.createMany({ data: [{ ...savedBy(viewer), messageId: message.id }], skipDuplicates: true });
}

/** DELETE /saved-messages/{id} (completion): a no-op when it is not saved. */
export async function deleteSavedMessage(db: Db, viewer: Viewer, messageId: string): Promise<void> {
  requireCompletionApp(viewer.app);
  const id = pathId(messageId);
  if (!id) return;
  await db.savedMessage.deleteMany({ where: { ...savedBy(viewer), messageId: id } });
}

/** One visible message in the list-item shape (GraphQL's Message, the end of a stream). */
export async function messageItem(db: Db, viewer: Viewer, id: string): Promise<WebMessageListItem> {
  const mid = pathId(id);
  const row = mid ? await db.message.findFirst({ where: { id: mid, ...ownMessages(viewer) }, include: itemInclude(viewer) }) : null;
  if (!row) throw notFound("Message Not Exists.");
  return listItem(row, await uploadsOf(db, viewer, [row]));
}
