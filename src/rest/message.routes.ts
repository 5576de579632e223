// GET /messages, POST /messages/{id}/feedbacks and the saved messages (behaviour.md 2.4, 2.5).
import { requireCompletionApp } from "../core/apps/modes.js";
import { uuidParam } from "./conversation.routes.js";
import { messageJson, savedMessageJson } from "./dify/messages.js";
import { pageJson } from "./dify/pages.js";
import type { Router } from "./router.js";

export function registerMessageRoutes(router: Router) {
  router.on("GET", "/messages", async (ctx) => {
    const page = await ctx.services.messages.list(await ctx.viewer(), {
      conversationId: ctx.query.get("conversation_id"),
      firstId: ctx.query.get("first_id"),
      limit: ctx.query.get("limit"),
    });
    return { status: 200, body: pageJson(page, messageJson) };
  });

  router.on("POST", "/messages/:message_id/feedbacks", async (ctx) => {
    const id = uuidParam(ctx, "message_id");
    const viewer = await ctx.viewer();
    const body = await ctx.json();
    await ctx.services.messages.rate(viewer, id, { rating: body.rating, content: body.content });
    return { status: 200, body: { result: "success" } };
  });

  router.on("GET", "/saved-messages", async (ctx) => {
    const page = await ctx.services.messages.listSaved(await ctx.viewer(), { lastId: ctx.query.get("last_id"), limit: ctx.query.get("limit") });
    return { status: 200, body: pageJson(page, savedMessageJson) };
  });

  router.on("POST", "/saved-messages", async (ctx) => {
    const viewer = await ctx.viewer();
    requireCompletionApp(viewer.app); // before the body is read, as in Dify
    const body = await ctx.json();
    await ctx.services.messages.save(viewer, body.message_id);
    return { status: 200, body: { result: "success" } };
  });

  router.on("DELETE", "/saved-messages/:message_id", async (ctx) => {
    const id = uuidParam(ctx, "message_id");
    await ctx.services.messages.unsave(await ctx.viewer(), id);
    return { status: 204 };
  });
}
