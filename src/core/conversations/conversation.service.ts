// An end user's conversations (behaviour.md 2.4): list with keyset paging, read, delete, rename, pin.
// Chat modes only; every read and write is scoped by ownConversations.
import type { Db } from "../ports/database.js";
import type { Conversation, Prisma } from "../../generated/prisma/client.js";
import type { Viewer } from "../auth/passport.service.js";
import { requireChatApp } from "../apps/modes.js";
import { invalidParam, notFound } from "../errors.js";
import { ownConversations, ownMessages, optionalUuid, UUID, uuidOrNull } from "./scope.js";

export type ConversationJson = {
  id: string;
  name: string;
  inputs: unknown;
  status: string;
  introduction: string | null;
  created_at: number;
  updated_at: number;
};

export type ListConversationsInput = {
  lastId?: string | null;
  limit?: string | number | null;
  pinned?: string | boolean | null;
  sortBy?: string | null;
};

export type Page<T> = { limit: number; has_more: boolean; data: T[] };

const SORTS = ["created_at", "-created_at", "updated_at", "-updated_at"] as const;
type Sort = (typeof SORTS)[number];

import { unixSeconds } from "../time.js";
export { unixSeconds };

export function conversationJson(conv: Conversation): ConversationJson {
  return {
    id: conv.id,
    name: conv.name,
    inputs: conv.inputs ?? {},
    status: conv.status,
    introduction: conv.introduction ?? null,
    created_at: unixSeconds(conv.createdAt),
    updated_at: unixSeconds(conv.updatedAt),
  };
}

/** Dify's `limit`: an integer 1..100, default 20. */
export function parseLimit(value: unknown, field = "limit"): number {
  if (value === undefined || value === null) return 20;
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= 1 && value <= 100) return value;
  } else if (typeof value === "string" && /^\s*\+?\d+\s*$/.test(value)) {
    const n = Number(value);
    if (n >= 1 && n <= 100) return n;
  }
  throw invalidParam(`${field} must be an integer between 1 and 100`, field);
}

function parseSort(value: unknown): Sort {
  if (value === undefined || value === null) return "-updated_at";
  if (typeof value === "string" && (SORTS as readonly string[]).includes(value)) return value as Sort;
  throw invalidParam("sort_by must be one of created_at, -created_at, updated_at, -updated_at", "sort_by");
}

function parsePinned(value: unknown): boolean | null {
  if (value === undefined || value === null) return null;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  throw invalidParam("pinned must be true or false", "pinned");
}

/** A path id: anything but a UUID names nothing. */
const pathId = uuidOrNull;

/** The end user's visible conversation, or 404 "Conversation Not Exists.". */
async function findOwn(db: Db, viewer: Viewer, id: string): Promise<Conversation> {
  const cid = pathId(id);
  const conversation = cid ? await db.conversation.findFirst({ where: { id: cid, ...ownConversations(viewer) } }) : null;
  if (!conversation) throw notFound("Conversation Not Exists.");
  return conversation;
}

const pinOf = (viewer: Viewer) => ({ appId: viewer.app.id, createdBy: viewer.endUser.id, createdByRole: "end_user" }) as const;

/** GET /conversations. */
export async function listConversations(db: Db, viewer: Viewer, input: ListConversationsInput): Promise<Page<ConversationJson>> {
  requireChatApp(viewer.app);
  const lastId = optionalUuid(input.lastId, "last_id");
  const limit = parseLimit(input.limit);
  const pinned = parsePinned(input.pinned);
  const sort = parseSort(input.sortBy);
  const field = sort.replace("-", "") === "created_at" ? "createdAt" : "updatedAt";
  const dir = sort.startsWith("-") ? "desc" : "asc";

  const scope: Prisma.ConversationWhereInput[] = [
    ownConversations(viewer),
    // Service-API conversations of the same end user are not the web app's.
    { OR: [{ invokeFrom: null }, { invokeFrom: "web-app" }] },
  ];
  if (pinned === true) scope.push({ pins: { some: pinOf(viewer) } });
  if (pinned === false) scope.push({ pins: { none: pinOf(viewer) } });

  // Keyset: strictly after the reference row in (sort value, id) order; the id only breaks ties.
  const after = (ref: Conversation): Prisma.ConversationWhereInput => {
    const cmp = dir === "desc" ? "lt" : "gt";
    return { OR: [{ [field]: { [cmp]: ref[field] } }, { [field]: ref[field], id: { [cmp]: ref.id } }] };
  };

  const where: Prisma.ConversationWhereInput[] = [...scope];
  if (lastId) {
    const last = await db.conversation.findFirst({ where: { AND: [...scope, { id: lastId }] } });
    if (!last) throw notFound("Last Conversation Not Exists.");
    where.push(after(last));
  }
  const rows = await db.conversation.findMany({
    where: { AND: where },
    orderBy: [{ [field]: dir }, { id: dir }],
    take: limit + 1,
  });
  const has_more = rows.length > limit;
  return { limit, has_more, data: rows.slice(0, limit).map(conversationJson) };
}

/** One visible conversation, or 404 "Conversation Not Exists.". */
export async function getConversation(db: Db, viewer: Viewer, id: string): Promise<Conversation> {
  requireChatApp(viewer.app);
  return findOwn(db, viewer, id);
}

/** DELETE /conversations/{id}: a hard delete; messages, feedback, files, thoughts, saves and pins cascade. */
export async function deleteConversation(db: Db, viewer: Viewer, id: string): Promise<void> {
  requireChatApp(viewer.app);
  const conversation = await findOwn(db, viewer, id);
  await db.conversation.deleteMany({ where: { id: conversation.id, ...ownConversations(viewer) } });
}

export type RenameInput = { name?: unknown; autoGenerate?: unknown };

/** POST /conversations/{id}/name: a manual name, or one the model proposes from the first query. */
export async function renameConversation(
  db: Db,
  viewer: Viewer,
  id: string,
  input: RenameInput,
  generateName?: (firstQuery: string) => Promise<string>,
): Promise<Conversation> {
  requireChatApp(viewer.app);
  // The body is validated before the conversation is looked up, as in Dify.
  if (input.autoGenerate !== undefined && input.autoGenerate !== null && typeof input.autoGenerate !== "boolean") {
    throw invalidParam("auto_generate must be a boolean", "auto_generate");
  }
  if (input.name !== undefined && input.name !== null && typeof input.name !== "string") {
    throw invalidParam("name must be a string", "name");
  }
  const autoGenerate = input.autoGenerate === true;
  const name = typeof input.name === "string" ? input.name : null;
  if (!autoGenerate && (name === null || name.trim() === "")) {
    throw invalidParam("name is required when auto_generate is false", "name");
  }
  const conversation = await findOwn(db, viewer, id);

  if (!autoGenerate) {
    return db.conversation.update({ where: { id: conversation.id }, data: { name: name!, updatedAt: new Date() } });
  }
  const first = await db.message.findFirst({
    where: { conversationId: conversation.id, ...ownMessages(viewer) },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    select: { query: true },
  });
  if (!first) throw invalidParam(""); // Dify's MessageNotExistsError: a ValueError without text
  if (!generateName) return conversation;
  let generated: string;
  try {
    generated = await generateName(first.query);
  } catch {
    return conversation; // like Dify: a failing model leaves the name as it was
  }
  if (typeof generated !== "string" || generated.trim() === "") return conversation;
  return db.conversation.update({ where: { id: conversation.id }, data: { name: generated } });
}

/** PATCH /conversations/{id}/pin: idempotent; 404 when the conversation is not visible. */
export async function pinConversation(db: Db, viewer: Viewer, id: string): Promise<void> {
  requireChatApp(viewer.app);
  const conversation = await findOwn(db, viewer, id);
  await db.pinnedConversation.createMany({
    data: [{ ...pinOf(viewer), conversationId: conversation.id }],
    skipDuplicates: true,
  });
}

/** PATCH /conversations/{id}/unpin: removes this end user's pin, if any; no existence check. */
export async function unpinConversation(db: Db, viewer: Viewer, id: string): Promise<void> {
  requireChatApp(viewer.app);
  const cid = pathId(id);
  if (!cid) return;
  await db.pinnedConversation.deleteMany({ where: { ...pinOf(viewer), conversationId: cid } });
}
