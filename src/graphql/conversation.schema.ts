// Conversations, messages, feedback and saved messages over GraphQL: Relay connections over the same
// scoped core reads as Dify's keyset pages, and a mutation for every REST action.
import { builder } from "./builder.js";
import type { GraphQLContext } from "./context.js";
import {
  deleteConversation,
  getConversation,
  listConversations,
  pinConversation,
  renameConversation,
  unpinConversation,
  conversationJson,
  type ConversationJson,
} from "../core/conversations/conversation.service.js";
import {
  createFeedback,
  deleteSavedMessage,
  listMessages,
  listSavedMessages,
  messageItem,
  saveMessage,
  type SavedMessageItem,
  type WebMessageListItem,
} from "../core/messages/message.service.js";
import { conversationNameGenerator } from "../core/generation/conversation-name.js";

const date = (unix: number) => new Date(unix * 1000);

const Rating = builder.enumType("Rating", { values: { LIKE: { value: "like" }, DISLIKE: { value: "dislike" } } as const });

const ConversationSort = builder.enumType("ConversationSort", {
  values: {
    CREATED_AT: { value: "created_at" },
    CREATED_AT_DESC: { value: "-created_at" },
    UPDATED_AT: { value: "updated_at" },
    UPDATED_AT_DESC: { value: "-updated_at" },
  } as const,
});

export const MessageRef = builder.objectRef<WebMessageListItem | SavedMessageItem>("Message").implement({
  description: "A message of a conversation: the user's query and the app's answer.",
  fields: (t) => ({
    id: t.id({ resolve: (m) => m.id }),
    conversationId: t.id({ nullable: true, resolve: (m) => ("conversation_id" in m ? m.conversation_id : null) }),
    parentMessageId: t.id({ nullable: true, description: "The previous message of the thread.", resolve: (m) => ("parent_message_id" in m ? m.parent_message_id : null) }),
    query: t.string({ resolve: (m) => m.query }),
    answer: t.string({ resolve: (m) => m.answer }),
    inputs: t.field({ type: "JSON", resolve: (m) => m.inputs }),
    status: t.string({ description: "normal, paused or error.", resolve: (m) => ("status" in m ? m.status : "normal") }),
    error: t.string({ nullable: true, resolve: (m) => ("error" in m ? m.error : null) }),
    feedback: t.field({ type: Rating, nullable: true, description: "Your rating of it.", resolve: (m) => (m.feedback?.rating as "like" | "dislike" | undefined) ?? null }),
    files: t.field({ type: "JSON", resolve: (m) => m.message_files }),
    agentThoughts: t.field({ type: "JSON", resolve: (m) => ("agent_thoughts" in m ? m.agent_thoughts : []) }),
    metadata: t.field({ type: "JSON", description: "Usage and retriever resources.", resolve: (m) => ("metadata" in m ? m.metadata : {}) }),
    createdAt: t.field({ type: "DateTime", resolve: (m) => date(m.created_at) }),
  }),
});

export const ConversationRef = builder.objectRef<ConversationJson>("Conversation").implement({
  description: "One of your conversations with a chat app.",
  fields: (t) => ({
    id: t.id({ resolve: (c) => c.id }),
    name: t.string({ resolve: (c) => c.name }),
    inputs: t.field({ type: "JSON", resolve: (c) => c.inputs }),
    status: t.string({ resolve: (c) => c.status }),
    introduction: t.string({ nullable: true, resolve: (c) => c.introduction }),
    createdAt: t.field({ type: "DateTime", resolve: (c) => date(c.created_at) }),
    updatedAt: t.field({ type: "DateTime", resolve: (c) => date(c.updated_at) }),
    messages: t.connection({
      type: MessageRef,
      description: "Newest messages first page by page, each page oldest first; page back with `last` and `before`.",
      resolve: async (c, args, ctx) => {
        const page = await listMessages(ctx.rt.db, await ctx.viewer(), {
          conversationId: c.id,
          firstId: args.before ?? null,
          limit: args.last ?? args.first ?? 20,
        });
        return {
          edges: page.data.map((m) => ({ cursor: m.id, node: m })),
          pageInfo: { hasPreviousPage: page.has_more, hasNextPage: false, startCursor: page.data[0]?.id ?? null, endCursor: page.data.at(-1)?.id ?? null },
        };
      },
    }),
  }),
});

const viewerOf = (ctx: GraphQLContext) => ctx.viewer();

builder.queryFields((t) => ({
  conversations: t.connection({
    type: ConversationRef,
    description: "Your conversations with the current app.",
    args: { pinned: t.arg.boolean(), sortBy: t.arg({ type: ConversationSort }) },
    resolve: async (_root, args, ctx) => {
      const page = await listConversations(ctx.rt.db, await viewerOf(ctx), {
        lastId: args.after ?? null,
        limit: args.first ?? 20,
        pinned: args.pinned ?? null,
        sortBy: args.sortBy ?? null,
      });
      return {
        edges: page.data.map((c) => ({ cursor: c.id, node: c })),
        pageInfo: { hasNextPage: page.has_more, hasPreviousPage: false, startCursor: page.data[0]?.id ?? null, endCursor: page.data.at(-1)?.id ?? null },
      };
    },
  }),
  conversation: t.field({
    type: ConversationRef,
    errors: {},
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => conversationJson(await getConversation(ctx.rt.db, await viewerOf(ctx), String(id))),
  }),
  message: t.field({
    type: MessageRef,
    errors: {},
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => messageItem(ctx.rt.db, await viewerOf(ctx), String(id)),
  }),
  savedMessages: t.connection({
    type: MessageRef,
    description: "Messages you saved (completion apps).",
    resolve: async (_root, args, ctx) => {
      const page = await listSavedMessages(ctx.rt.db, await viewerOf(ctx), { lastId: args.after ?? null, limit: args.first ?? 20 });
      return {
        edges: page.data.map((m) => ({ cursor: m.id, node: m })),
        pageInfo: { hasNextPage: page.has_more, hasPreviousPage: false, startCursor: page.data[0]?.id ?? null, endCursor: page.data.at(-1)?.id ?? null },
      };
    },
  }),
}));

const done = { directResult: false } as const;

builder.mutationFields((t) => ({
  renameConversation: t.field({
    type: ConversationRef,
    description: "Rename a conversation, or let the model name it after its first message.",
    errors: {},
    args: { id: t.arg.id({ required: true }), name: t.arg.string(), autoGenerate: t.arg.boolean({ defaultValue: false }) },
    resolve: async (_root, { id, name, autoGenerate }, ctx) => {
      const viewer = await viewerOf(ctx);
      const conv = await renameConversation(
        ctx.rt.db,
        viewer,
        String(id),
        { name: name ?? undefined, autoGenerate: autoGenerate ?? false },
        conversationNameGenerator(ctx.rt.models, viewer.app),
      );
      return conversationJson(conv);
    },
  }),
  deleteConversation: t.boolean({
    errors: done,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => (await deleteConversation(ctx.rt.db, await viewerOf(ctx), String(id)), true),
  }),
  pinConversation: t.boolean({
    errors: done,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => (await pinConversation(ctx.rt.db, await viewerOf(ctx), String(id)), true),
  }),
  unpinConversation: t.boolean({
    errors: done,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => (await unpinConversation(ctx.rt.db, await viewerOf(ctx), String(id)), true),
  }),
  rateMessage: t.boolean({
    description: "Like or dislike a message; a null rating removes yours.",
    errors: done,
    args: { messageId: t.arg.id({ required: true }), rating: t.arg({ type: Rating }), content: t.arg.string() },
    resolve: async (_root, { messageId, rating, content }, ctx) =>
      (await createFeedback(ctx.rt.db, await viewerOf(ctx), String(messageId), { rating: rating ?? null, content: content ?? null }), true),
  }),
  saveMessage: t.boolean({
    errors: done,
    args: { messageId: t.arg.id({ required: true }) },
    resolve: async (_root, { messageId }, ctx) => (await saveMessage(ctx.rt.db, await viewerOf(ctx), String(messageId)), true),
  }),
  unsaveMessage: t.boolean({
    errors: done,
    args: { messageId: t.arg.id({ required: true }) },
    resolve: async (_root, { messageId }, ctx) => (await deleteSavedMessage(ctx.rt.db, await viewerOf(ctx), String(messageId)), true),
  }),
}));
