// Conversations, messages, feedback and saved messages: Relay connections over the core's keyset pages,
// nodes with owner-scoped global ids, and a mutation for every REST action.
import type { ConversationRecord } from "../core/conversations/conversation.service.js";
import { AppError } from "../core/errors.js";
import type { AgentThoughtRecord, MessageFileRecord, MessageRecord, MessageUsage } from "../core/messages/message.service.js";
import type { Page } from "../core/pages.js";
import { builder } from "./builder.js";
import { globalId, recordId } from "./common.schema.js";
import type { GraphQLContext } from "./context.js";

const Rating = builder.enumType("Rating", { values: { LIKE: { value: "like" }, DISLIKE: { value: "dislike" } } as const });

const ConversationSort = builder.enumType("ConversationSort", {
  values: {
    CREATED_AT: { value: "created_at" },
    CREATED_AT_DESC: { value: "-created_at" },
    UPDATED_AT: { value: "updated_at" },
    UPDATED_AT_DESC: { value: "-updated_at" },
  } as const,
});

/** A Relay connection over one of the core's pages; `forward` says which way hasMore points. */
export function connectionOf<T>(page: Page<T>, cursor: (item: T) => string, forward: boolean) {
  return {
    edges: page.items.map((node) => ({ cursor: cursor(node), node })),
    pageInfo: {
      hasNextPage: forward && page.hasMore,
      hasPreviousPage: !forward && page.hasMore,
      startCursor: page.items.length ? cursor(page.items[0]) : null,
      endCursor: page.items.length ? cursor(page.items.at(-1)!) : null,
    },
  };
}

export const MessageFileRef = builder.objectRef<MessageFileRecord>("MessageFile").implement({
  description: "A file attached to a message: an upload, a remote URL, or a file the app produced.",
  fields: (t) => ({
    id: t.exposeID("id"),
    filename: t.exposeString("filename", { nullable: true }),
    type: t.exposeString("type", { description: "image, document, audio, video or custom." }),
    url: t.exposeString("url", { nullable: true }),
    mimeType: t.exposeString("mimeType", { nullable: true }),
    size: t.exposeInt("size", { nullable: true }),
    transferMethod: t.exposeString("transferMethod", { description: "remote_url, local_file or tool_file." }),
    belongsTo: t.exposeString("belongsTo", { description: "user or assistant." }),
    uploadFileId: t.exposeID("uploadFileId", { nullable: true, description: "The upload it is, when the gateway holds its bytes (see uploadFile)." }),
  }),
});

const AgentThoughtRef = builder.objectRef<AgentThoughtRecord>("AgentThought").implement({
  description: "One step of an agent's reasoning (agent-chat apps).",
  fields: (t) => ({
    id: t.exposeID("id"),
    position: t.exposeInt("position"),
    thought: t.exposeString("thought", { nullable: true }),
    tool: t.exposeString("tool", { nullable: true }),
    toolInput: t.exposeString("toolInput", { nullable: true }),
    observation: t.exposeString("observation", { nullable: true }),
    fileIds: t.idList({ resolve: (a) => a.files }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

export const UsageRef = builder.objectRef<{ promptTokens: number; completionTokens: number; totalTokens: number }>("Usage").implement({
  description: "Tokens the model reported (or, when it reported none, an estimate).",
  fields: (t) => ({
    promptTokens: t.exposeInt("promptTokens"),
    completionTokens: t.exposeInt("completionTokens"),
    totalTokens: t.exposeInt("totalTokens"),
  }),
});

const MessageUsageRef = builder.objectRef<MessageUsage>("MessageUsage").implement({
  description: "What answering a message took.",
  fields: (t) => ({
    promptTokens: t.exposeInt("promptTokens"),
    completionTokens: t.exposeInt("completionTokens"),
    totalTokens: t.exposeInt("totalTokens"),
    latencySeconds: t.exposeFloat("latencySeconds"),
  }),
});

type RetrieverResource = Record<string, unknown>;
const str = (v: unknown) => (v === undefined || v === null ? null : String(v));
const num = (v: unknown) => (typeof v === "number" ? v : null);

const RetrieverResourceRef = builder.objectRef<RetrieverResource>("RetrieverResource").implement({
  description: "A knowledge-base passage the answer drew on (Dify's retriever resource).",
  fields: (t) => ({
    position: t.int({ nullable: true, resolve: (r) => num(r.position) }),
    datasetId: t.string({ nullable: true, resolve: (r) => str(r.dataset_id) }),
    datasetName: t.string({ nullable: true, resolve: (r) => str(r.dataset_name) }),
    documentId: t.string({ nullable: true, resolve: (r) => str(r.document_id) }),
    documentName: t.string({ nullable: true, resolve: (r) => str(r.document_name) }),
    segmentId: t.string({ nullable: true, resolve: (r) => str(r.segment_id) }),
    score: t.float({ nullable: true, resolve: (r) => num(r.score) }),
    content: t.string({ nullable: true, resolve: (r) => str(r.content) }),
  }),
});

const isConversation = (v: unknown): v is ConversationRecord => typeof v === "object" && v !== null && "introduction" in v && "updatedAt" in v;
const isMessage = (v: unknown): v is MessageRecord => typeof v === "object" && v !== null && "query" in v && "answer" in v && "agentThoughts" in v;

export const MessageRef = builder.objectRef<MessageRecord>("Message");
builder.node(MessageRef, {
  description: "A message of a conversation: the end user's query and the app's answer.",
  id: { resolve: (m) => m.id },
  isTypeOf: isMessage,
  fields: (t) => ({
    conversationId: t.globalID({ description: "The conversation's global id.", resolve: (m) => ({ type: "Conversation", id: m.conversationId }) }),
    parentMessageId: t.globalID({
      nullable: true,
      description: "The previous message of the thread.",
      resolve: (m) => (m.parentMessageId ? { type: "Message", id: m.parentMessageId } : null),
    }),
    query: t.exposeString("query"),
    answer: t.exposeString("answer"),
    inputs: t.expose("inputs", { type: "JSON" }),
    status: t.exposeString("status", { description: "normal, paused or error." }),
    error: t.exposeString("error", { nullable: true }),
    feedback: t.field({ type: Rating, nullable: true, description: "Your rating of it.", resolve: (m) => m.feedback?.rating ?? null }),
    files: t.field({ type: [MessageFileRef], resolve: (m) => m.files }),
    agentThoughts: t.field({ type: [AgentThoughtRef], resolve: (m) => m.agentThoughts }),
    retrieverResources: t.field({ type: [RetrieverResourceRef], resolve: (m) => m.retrieverResources as RetrieverResource[] }),
    usage: t.field({ type: MessageUsageRef, nullable: true, description: "Null until the answer is saved.", resolve: (m) => m.usage }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

const MessageConnection = { name: "MessageConnection" };
const MessageEdge = { name: "MessageEdge" };

/** The first page of messages of several conversations at once (one batch per request and size). */
export async function firstMessagePage(ctx: GraphQLContext, conversationId: string, limit: number) {
  return ctx.loaders.firstMessagePages.load(`${limit}:${conversationId}`);
}

export const ConversationRef = builder.objectRef<ConversationRecord>("Conversation");
builder.node(ConversationRef, {
  description: "One of your conversations with a chat app.",
  id: { resolve: (c) => c.id },
  isTypeOf: isConversation,
  fields: (t) => ({
    name: t.exposeString("name"),
    inputs: t.expose("inputs", { type: "JSON" }),
    status: t.exposeString("status"),
    introduction: t.exposeString("introduction", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    messages: t.connection(
      {
        type: MessageRef,
        description:
          "The newest messages first, each page oldest first, as a chat shows them: page back with `last` and `before` " +
          "(`first` is taken as `last`).",
        resolve: async (c, args, ctx) => {
          const limit = args.last ?? args.first ?? 20;
          const before = recordId(args.before, "Message");
          const page = before
            ? await ctx.services.messages.list(await ctx.viewer(), { conversationId: c.id, firstId: before, limit })
            : await firstMessagePage(ctx, c.id, limit);
          return connectionOf(page, (m) => m.id, false);
        },
      },
      MessageConnection,
      MessageEdge,
    ),
  }),
});

builder.queryFields((t) => ({
  conversations: t.connection(
    {
      type: ConversationRef,
      description: "Your conversations with the current app (chat apps).",
      args: { pinned: t.arg.boolean(), sortBy: t.arg({ type: ConversationSort }) },
      resolve: async (_root, args, ctx) => {
        const page = await ctx.services.conversations.list(await ctx.viewer(), {
          lastId: recordId(args.after, "Conversation"),
          limit: args.first ?? 20,
          pinned: args.pinned ?? null,
          sortBy: args.sortBy ?? null,
        });
        return connectionOf(page, (c) => c.id, true);
      },
    },
    { name: "ConversationConnection" },
    { name: "ConversationEdge" },
  ),
  conversation: t.field({
    type: ConversationRef,
    errors: {},
    description: "One of your conversations, by its global id or UUID.",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => ctx.services.conversations.get(await ctx.viewer(), recordId(id, "Conversation")!),
  }),
  message: t.field({
    type: MessageRef,
    errors: {},
    description: "One of your messages, by its global id or UUID.",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => ctx.services.messages.get(await ctx.viewer(), recordId(id, "Message")!),
  }),
  savedMessages: t.connection(
    {
      type: MessageRef,
      description: "Messages you saved (completion apps), the newest first.",
      resolve: async (_root, args, ctx) => {
        const page = await ctx.services.messages.listSaved(await ctx.viewer(), { lastId: recordId(args.after, "Message"), limit: args.first ?? 20 });
        return connectionOf(page, (m) => m.id, true);
      },
    },
    { name: "SavedMessageConnection" },
    { name: "SavedMessageEdge" },
  ),
}));

builder.mutationFields((t) => ({
  renameConversation: t.field({
    type: ConversationRef,
    description: "Rename a conversation, or let the model name it after its first message.",
    errors: { directResult: false, dataField: { name: "conversation" } },
    args: { id: t.arg.id({ required: true, description: "The conversation's global id or UUID." }), name: t.arg.string(), autoGenerate: t.arg.boolean({ defaultValue: false }) },
    resolve: async (_root, { id, name, autoGenerate }, ctx) =>
      ctx.services.conversations.rename(await ctx.viewer(), recordId(id, "Conversation")!, { name: name ?? undefined, autoGenerate: autoGenerate ?? false }),
  }),
  deleteConversation: t.id({
    description: "Delete a conversation with its messages; answers the deleted conversation's global id.",
    errors: { directResult: false, dataField: { name: "deletedId" } },
    args: { id: t.arg.id({ required: true, description: "The conversation's global id or UUID." }) },
    resolve: async (_root, { id }, ctx) => {
      const local = recordId(id, "Conversation")!;
      await ctx.services.conversations.delete(await ctx.viewer(), local);
      return globalId("Conversation", local);
    },
  }),
  pinConversation: t.field({
    type: ConversationRef,
    errors: { directResult: false, dataField: { name: "conversation" } },
    args: { id: t.arg.id({ required: true, description: "The conversation's global id or UUID." }) },
    resolve: async (_root, { id }, ctx) => ctx.services.conversations.pin(await ctx.viewer(), recordId(id, "Conversation")!),
  }),
  unpinConversation: t.boolean({
    description: "Remove your pin from a conversation; true whether or not it was pinned.",
    errors: { directResult: false, dataField: { name: "done" } },
    args: { id: t.arg.id({ required: true, description: "The conversation's global id or UUID." }) },
    resolve: async (_root, { id }, ctx) => (await ctx.services.conversations.unpin(await ctx.viewer(), recordId(id, "Conversation")!), true),
  }),
  rateMessage: t.field({
    type: MessageRef,
    description: "Like or dislike a message; a null rating removes yours.",
    errors: { directResult: false, dataField: { name: "message" } },
    args: { messageId: t.arg.id({ required: true, description: "The message's global id or UUID." }), rating: t.arg({ type: Rating }), content: t.arg.string() },
    resolve: async (_root, { messageId, rating, content }, ctx) => {
      const viewer = await ctx.viewer();
      await ctx.services.messages.rate(viewer, recordId(messageId, "Message")!, { rating: rating ?? null, content: content ?? null });
      return ctx.services.messages.get(viewer, recordId(messageId, "Message")!);
    },
  }),
  saveMessage: t.field({
    type: MessageRef,
    description: "Save a message (completion apps).",
    errors: { directResult: false, dataField: { name: "message" } },
    args: { messageId: t.arg.id({ required: true, description: "The message's global id or UUID." }) },
    resolve: async (_root, { messageId }, ctx) => {
      const viewer = await ctx.viewer();
      await ctx.services.messages.save(viewer, recordId(messageId, "Message"));
      return ctx.services.messages.get(viewer, recordId(messageId, "Message")!);
    },
  }),
  unsaveMessage: t.boolean({
    description: "Forget a saved message; true whether or not it was saved.",
    errors: { directResult: false, dataField: { name: "done" } },
    args: { messageId: t.arg.id({ required: true, description: "The message's global id or UUID." }) },
    resolve: async (_root, { messageId }, ctx) => (await ctx.services.messages.unsave(await ctx.viewer(), recordId(messageId, "Message")!), true),
  }),
}));

/** What `firstMessagePage` batches: "<limit>:<conversationId>" keys, answered per conversation. */
export async function loadFirstMessagePages(ctx: GraphQLContext, keys: readonly string[]): Promise<(Page<MessageRecord> | AppError)[]> {
  const viewer = await ctx.viewer();
  const byLimit = new Map<number, string[]>();
  for (const key of keys) {
    const [limit, id] = [Number(key.slice(0, key.indexOf(":"))), key.slice(key.indexOf(":") + 1)];
    byLimit.set(limit, [...(byLimit.get(limit) ?? []), id]);
  }
  const found = new Map<string, Page<MessageRecord>>();
  for (const [limit, ids] of byLimit) {
    for (const [id, page] of await ctx.services.messages.firstPages(viewer, ids, limit)) found.set(`${limit}:${id}`, page);
  }
  return keys.map((key) => found.get(key) ?? new AppError("not_found", 404, "Conversation Not Exists."));
}
