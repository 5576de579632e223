// GET /conversations, DELETE /conversations/{c_id}, POST .../name, PATCH .../pin and .../unpin (behaviour.md 2.4).
import { requireChatApp } from "../core/apps/modes.js";
import { UUID } from "../core/conversations/scope.js";
import { notFound } from "../core/errors.js";
import { conversationJson } from "./dify/conversations.js";
import { pageJson } from "./dify/pages.js";
import type { RouteContext } from "./http.js";
import type { Router } from "./router.js";

/** Dify routes these ids with `<uuid:...>`: anything else matches no route (JSON here, HTML in Dify). */
export function uuidParam(ctx: RouteContext, name: string): string {
  const value = ctx.params[name];
  if (!value || !UUID.test(value)) throw notFound();
  return value;
}

export function registerConversationRoutes(router: Router) {
  router.on("GET", "/conversations", async (ctx) => {
    const page = await ctx.services.conversations.list(await ctx.viewer(), {
      lastId: ctx.query.get("last_id"),
      limit: ctx.query.get("limit"),
      pinned: ctx.query.get("pinned"),
      sortBy: ctx.query.get("sort_by"),
    });
    return { status: 200, body: pageJson(page, conversationJson) };
  });

  router.on("DELETE", "/conversations/:c_id", async (ctx) => {
    const id = uuidParam(ctx, "c_id");
    await ctx.services.conversations.delete(await ctx.viewer(), id);
    return { status: 204 };
  });

  router.on("POST", "/conversations/:c_id/name", async (ctx) => {
    const id = uuidParam(ctx, "c_id");
    const viewer = await ctx.viewer();
    requireChatApp(viewer.app); // before the body is read, as in Dify
    const body = await ctx.json();
    const conversation = await ctx.services.conversations.rename(viewer, id, { name: body.name, autoGenerate: body.auto_generate });
    return { status: 200, body: conversationJson(conversation) };
  });

  router.on("PATCH", "/conversations/:c_id/pin", async (ctx) => {
    const id = uuidParam(ctx, "c_id");
    await ctx.services.conversations.pin(await ctx.viewer(), id);
    return { status: 200, body: { result: "success" } };
  });

  router.on("PATCH", "/conversations/:c_id/unpin", async (ctx) => {
    const id = uuidParam(ctx, "c_id");
    await ctx.services.conversations.unpin(await ctx.viewer(), id);
    return { status: 200, body: { result: "success" } };
  });
}
