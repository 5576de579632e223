// An end user's conversations (behaviour.md 2.4): list with keyset paging, read, delete, rename, pin.
// Chat modes only; every read and write is scoped by ownConversations.
import type { Db } from "../ports/database.js";
import type { Conversation, Prisma } from "../../generated/prisma/client.js";
import type { Viewer } from "../auth/passport.service.js";
import { requireChatApp } from "../apps/modes.js";
import { invalidParam, notFound } from "../errors.js";
import { wellFormedText } from "../text.js";
import { parseLimit, type Page } from "../pages.js";
import { ownConversations, ownMessages, optionalUuid, uuidOrNull } from "./scope.js";

/** A conversation as the core hands it out. */
export type ConversationRecord = {
  id: string;
  name: string;
  inputs: Record<string, unknown>;
  status: string;
  introduction: string | null;
  createdAt: Date;
  updatedAt: Date;
};

export type ListConversationsInput = {
  lastId?: string | null;
  limit?: string | number | null;
  pinned?: string | boolean | null;
  sortBy?: string | null;
};

const SORTS = ["created_at", "-created_at", "updated_at", "-updated_at"] as const;
type Sort = (typeof SORTS)[number];

export function conversationRecord(conv: Conversation): ConversationRecord {
  return {
    id: conv.id,
    name: conv.name,
    inputs: (conv.inputs ?? {}) as Record<string, unknown>,
    status: conv.status,
    introduction: conv.introduction ?? null,
    createdAt: conv.createdAt,
    updatedAt: conv.updatedAt,
  };
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

export type RenameInput = { name?: unknown; autoGenerate?: unknown };

export type ConversationDeps = {
  db: Db;
  /** Proposes a name from the first query with the app's model (auto_generate). */
  nameConversation(app: Viewer["app"], firstQuery: string): Promise<string>;
};

/** The end user's conversations with a chat app (chat modes only; Dify's not_chat_app otherwise). */
export function conversationService({ db, nameConversation }: ConversationDeps) {
  return {
    /** Keyset pages in the requested order; `pinned` keeps or leaves out pinned ones. */
    async list(viewer: Viewer, input: ListConversationsInput): Promise<Page<ConversationRecord>> {
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
      return { limit, hasMore: rows.length > limit, items: rows.slice(0, limit).map(conversationRecord) };
    },

    /** One visible conversation, or 404 "Conversation Not Exists.". */
    async get(viewer: Viewer, id: string): Promise<ConversationRecord> {
      requireChatApp(viewer.app);
      return conversationRecord(await findOwn(db, viewer, id));
    },

    /** A hard delete; messages, feedback, files, thoughts, saves and pins cascade. */
    async delete(viewer: Viewer, id: string): Promise<void> {
      requireChatApp(viewer.app);
      const conversation = await findOwn(db, viewer, id);
      await db.conversation.deleteMany({ where: { id: conversation.id, ...ownConversations(viewer) } });
    },

    /** A manual name, or one the model proposes from the first query. */
    async rename(viewer: Viewer, id: string, input: RenameInput): Promise<ConversationRecord> {
      requireChatApp(viewer.app);
      // The body is validated before the conversation is looked up, as in Dify.
      if (input.autoGenerate !== undefined && input.autoGenerate !== null && typeof input.autoGenerate !== "boolean") {
        throw invalidParam("auto_generate must be a boolean", "auto_generate");
      }
      if (input.name !== undefined && input.name !== null && typeof input.name !== "string") {
        throw invalidParam("name must be a string", "name");
      }
      const autoGenerate = input.autoGenerate === true;
      const name = typeof input.name === "string" ? wellFormedText(input.name, "name") : null;
      if (!autoGenerate && (name === null || name.trim() === "")) {
        throw invalidParam("name is required when auto_generate is false", "name");
      }
      const conversation = await findOwn(db, viewer, id);

      if (!autoGenerate) {
        return conversationRecord(await db.conversation.update({ where: { id: conversation.id }, data: { name: name!, updatedAt: new Date() } }));
      }
      const first = await db.message.findFirst({
        where: { conversationId: conversation.id, ...ownMessages(viewer) },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        select: { query: true },
      });
      if (!first) throw invalidParam(""); // Dify's MessageNotExistsError: a ValueError without text
      let generated: string;
      try {
        generated = await nameConversation(viewer.app, first.query);
      } catch {
        return conversationRecord(conversation); // like Dify: a failing model leaves the name as it was
      }
      if (typeof generated !== "string" || generated.trim() === "") return conversationRecord(conversation);
      return conversationRecord(await db.conversation.update({ where: { id: conversation.id }, data: { name: generated } }));
    },

    /** Idempotent; 404 when the conversation is not visible. Answers the pinned conversation. */
    async pin(viewer: Viewer, id: string): Promise<ConversationRecord> {
      requireChatApp(viewer.app);
      const conversation = await findOwn(db, viewer, id);
      await db.pinnedConversation.createMany({
        data: [{ ...pinOf(viewer), conversationId: conversation.id }],
        skipDuplicates: true,
      });
      return conversationRecord(conversation);
    },

    /** Removes this end user's pin, if any; no existence check. */
    async unpin(viewer: Viewer, id: string): Promise<void> {
      requireChatApp(viewer.app);
      const cid = pathId(id);
      if (!cid) return;
      await db.pinnedConversation.deleteMany({ where: { ...pinOf(viewer), conversationId: cid } });
    },
  };
}

export type ConversationService = ReturnType<typeof conversationService>;
