// GET /messages, POST /messages/{id}/feedbacks and the saved messages (behaviour.md 2.4, 2.5).
import { requireCompletionApp } from "../core/apps/modes.js";
import { createFeedback, deleteSavedMessage, listMessages, listSavedMessages, saveMessage } from "../core/messages/message.service.js";
import { uuidParam } from "./conversation.routes.js";
import type { Router } from "./router.js";

export function registerMessageRoutes(router: Router) {
  router.on("GET", "/messages", async (ctx) => {
    const viewer = await ctx.viewer();
    const body = await listMessages(ctx.rt.db, viewer, {
      conversationId: ctx.query.get("conversation_id"),
      firstId: ctx.query.get("first_id"),
      limit: ctx.query.get("limit"),
    });
    return { status: 200, body };
  });

  router.on("POST", "/messages/:message_id/feedbacks", async (ctx) => {
    const id = uuidParam(ctx, "message_id");
    const viewer = await ctx.viewer();
    const body = await ctx.json();
    await createFeedback(ctx.rt.db, viewer, id, { rating: body.rating, content: body.content });
    return { status: 200, body: { result: "success" } };
  });

  router.on("GET", "/saved-messages", async (ctx) => {
    const viewer = await ctx.viewer();
    const body = await listSavedMessages(ctx.rt.db, viewer, { lastId: ctx.query.get("last_id"), limit: ctx.query.get("limit") });
    return { status: 200, body };
  });

  router.on("POST", "/saved-messages", async (ctx) => {
    const viewer = await ctx.viewer();
    requireCompletionApp(viewer.app); // before the body, as in Dify
    const body = await ctx.json();
    await saveMessage(ctx.rt.db, viewer, body.message_id);
    return { status: 200, body: { result: "success" } };
  });

  router.on("DELETE", "/saved-messages/:message_id", async (ctx) => {
    const id = uuidParam(ctx, "message_id");
    await deleteSavedMessage(ctx.rt.db, await ctx.viewer(), id);
    return { status: 204 };
  });
}
