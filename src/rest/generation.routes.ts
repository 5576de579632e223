// POST /chat-messages, /completion-messages and their stop routes; more-like-this; suggested questions;
// resume. Each parses the request, calls one use case, and writes Dify's JSON or SSE.
import type { GenerationTask } from "../core/generation/generation.service.js";
import { parseCursor } from "../core/tasks/task-events.js";
import { invalidParam } from "../core/errors.js";
import { blockingBody, renderStreamEvent } from "./dify/events.js";
import type { RestResult, RouteContext } from "./http.js";
import type { Router } from "./router.js";
import { writeSse } from "./sse.js";

function responseMode(value: unknown, required = false): "blocking" | "streaming" {
  if (value === undefined || value === null || value === "") {
    if (required) throw invalidParam("response_mode is required", "response_mode");
    return "blocking"; // absent means blocking, as in Dify
  }
  if (value !== "blocking" && value !== "streaming") throw invalidParam("response_mode must be blocking or streaming", "response_mode");
  return value;
}

async function respond(ctx: RouteContext, mode: "blocking" | "streaming", started: GenerationTask): Promise<RestResult> {
  if (mode === "blocking") return { status: 200, body: blockingBody(await started.result) };
  await writeSse(ctx.req, ctx.res, started.events, renderStreamEvent);
  return { written: true };
}

async function resume(ctx: RouteContext): Promise<RestResult> {
  const viewer = await ctx.viewer();
  const after = parseCursor(ctx.query.get("cursor") ?? ctx.header("last-event-id"));
  const events = await ctx.services.generations.follow(viewer, ctx.params.task_id, after);
  await writeSse(ctx.req, ctx.res, events, renderStreamEvent);
  return { written: true };
}

export function registerGenerationRoutes(router: Router) {
  router.on("POST", "/chat-messages", async (ctx) => {
    const viewer = await ctx.viewer();
    const body = await ctx.json();
    const mode = responseMode(body.response_mode);
    const started = await ctx.services.generations.sendChatMessage(viewer, {
      query: body.query,
      inputs: body.inputs,
      conversationId: body.conversation_id,
      parentMessageId: body.parent_message_id,
      files: body.files,
      streaming: mode === "streaming",
    });
    return respond(ctx, mode, started);
  });

  router.on("POST", "/completion-messages", async (ctx) => {
    const viewer = await ctx.viewer();
    const body = await ctx.json();
    const mode = responseMode(body.response_mode);
    return respond(ctx, mode, await ctx.services.generations.sendCompletionMessage(viewer, { query: body.query, inputs: body.inputs, files: body.files, streaming: mode === "streaming" }));
  });

  router.on("GET", "/messages/:message_id/more-like-this", async (ctx) => {
    const viewer = await ctx.viewer();
    const mode = responseMode(ctx.query.get("response_mode"), true);
    return respond(ctx, mode, await ctx.services.generations.moreLikeThis(viewer, ctx.params.message_id));
  });

  // Stop: owner-checked; like Dify, the answer is the same whether or not anything was stopped.
  router.on("POST", "/chat-messages/:task_id/stop", async (ctx) => {
    await ctx.services.generations.stop(await ctx.viewer(), ctx.params.task_id, "chat");
    return { status: 200, body: { result: "success" } };
  });
  router.on("POST", "/completion-messages/:task_id/stop", async (ctx) => {
    await ctx.services.generations.stop(await ctx.viewer(), ctx.params.task_id, "completion");
    return { status: 200, body: { result: "success" } };
  });

  router.on("GET", "/messages/:message_id/suggested-questions", async (ctx) => {
    const data = await ctx.services.generations.suggestedQuestions(await ctx.viewer(), ctx.params.message_id);
    return { status: 200, body: { data } };
  });

  router.on("GET", "/chat-messages/:task_id/events", resume);
  router.on("GET", "/completion-messages/:task_id/events", resume);
}
