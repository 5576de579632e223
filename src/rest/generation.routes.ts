// POST /chat-messages, /completion-messages and their stop routes; more-like-this; resume.
import type { GenerationEvent } from "../core/generation/events.js";
import {
  startChat,
  startCompletion,
  startMoreLikeThis,
  type GenerationResult,
  type StartedGeneration,
} from "../core/generation/generation.service.js";
import { openTaskEvents, parseCursor } from "../core/tasks/task-events.js";
import { suggestedQuestions } from "../core/generation/suggestions.service.js";
import { requireChatApp, requireCompletionApp } from "../core/apps/modes.js";
import { invalidParam } from "../core/errors.js";
import type { RestResult, RouteContext } from "./http.js";
import type { Router } from "./router.js";
import { writeSse } from "./sse.js";
import { startChatflow } from "../core/workflows/chatflow.service.js";
import { renderWorkflowEvent } from "./workflow.routes.js";

/** Dify's web ("simple") rendering of a generation event. */
export function renderGenerationEvent(e: GenerationEvent): object {
  const envelope: Record<string, unknown> =
    e.conversationId === null
      ? { message_id: e.messageId, created_at: e.createdAt }
      : { conversation_id: e.conversationId, message_id: e.messageId, created_at: e.createdAt };
  switch (e.type) {
    case "message":
      return {
        event: e.mode === "agent-chat" ? "agent_message" : "message",
        ...envelope,
        task_id: e.taskId,
        id: e.messageId,
        answer: e.answer,
        from_variable_selector: null,
      };
    case "agent_thought":
      return {
        event: "agent_thought",
        ...envelope,
        task_id: e.taskId,
        id: e.id,
        position: e.position,
        thought: e.thought,
        observation: e.observation,
        tool: e.tool,
        tool_labels: {},
        tool_input: e.toolInput,
        message_files: [],
      };
    case "message_replace":
      return { event: "message_replace", ...envelope, task_id: e.taskId, answer: e.answer, reason: e.reason };
    case "message_end":
      return { event: "message_end", ...envelope, task_id: e.taskId, id: e.messageId, metadata: { retriever_resources: e.retrieverResources }, files: null };
    case "error":
      return { event: "error", ...envelope, code: e.code, message: e.message, status: e.status };
  }
}

/** The blocking-mode body (behaviour.md 3.7). */
function blockingBody(r: GenerationResult): object {
  return {
    event: "message",
    task_id: r.taskId,
    id: r.messageId,
    message_id: r.messageId,
    ...(r.conversationId === null ? {} : { conversation_id: r.conversationId }),
    mode: r.mode,
    answer: r.answer,
    metadata: { retriever_resources: [] },
    created_at: r.createdAt,
  };
}

function responseMode(value: unknown, required = false): "blocking" | "streaming" {
  if (value === undefined || value === null || value === "") {
    if (required) throw invalidParam("response_mode is required", "response_mode");
    return "blocking"; // absent means blocking, as in Dify
  }
  if (value !== "blocking" && value !== "streaming") throw invalidParam("response_mode must be blocking or streaming", "response_mode");
  return value;
}

async function respond(ctx: RouteContext, mode: "blocking" | "streaming", started: StartedGeneration): Promise<RestResult> {
  if (mode === "blocking") return { status: 200, body: blockingBody(await started.result) };
  await writeSse(ctx.req, ctx.res, (signal) => ctx.rt.tasks.store.read(started.taskId, 0, signal), renderGenerationEvent);
  return { written: true };
}


async function resume(ctx: RouteContext): Promise<RestResult> {
  const viewer = await ctx.viewer();
  const after = parseCursor(ctx.query.get("cursor") ?? ctx.header("last-event-id"));
  const events = await openTaskEvents(ctx.rt.tasks, viewer, ctx.params.task_id, after);
  await writeSse(ctx.req, ctx.res, events, renderGenerationEvent);
  return { written: true };
}

export function registerGenerationRoutes(router: Router) {
  router.on("POST", "/chat-messages", async (ctx) => {
    const viewer = await ctx.viewer();
    const body = await ctx.json();
    const mode = responseMode(body.response_mode);
    const request = { query: body.query, inputs: body.inputs, conversationId: body.conversation_id, parentMessageId: body.parent_message_id, files: body.files };
    if (viewer.app.mode === "advanced-chat") {
      const started = await startChatflow(ctx.rt, viewer, request);
      if (mode === "streaming") {
        await writeSse(ctx.req, ctx.res, (signal) => ctx.rt.tasks.store.read(started.taskId, 0, signal), renderWorkflowEvent);
        return { written: true };
      }
      const outcome = await started.result;
      return {
        status: 200,
        body: {
          event: "message",
          task_id: started.taskId,
          id: started.messageId,
          message_id: started.messageId,
          conversation_id: started.conversationId,
          mode: "advanced-chat",
          answer: outcome.answer,
          metadata: { retriever_resources: [] },
          created_at: started.createdAt,
        },
      };
    }
    return respond(ctx, mode, await startChat(ctx.rt, viewer, request));
  });

  router.on("POST", "/completion-messages", async (ctx) => {
    const viewer = await ctx.viewer();
    const body = await ctx.json();
    const mode = responseMode(body.response_mode);
    return respond(ctx, mode, await startCompletion(ctx.rt, viewer, { query: body.query, inputs: body.inputs }));
  });

  router.on("GET", "/messages/:message_id/more-like-this", async (ctx) => {
    const viewer = await ctx.viewer();
    const mode = responseMode(ctx.query.get("response_mode"), true);
    return respond(ctx, mode, await startMoreLikeThis(ctx.rt, viewer, ctx.params.message_id));
  });

  // Stop: owner-checked; like Dify, the answer is the same whether or not anything was stopped.
  router.on("POST", "/chat-messages/:task_id/stop", async (ctx) => {
    const viewer = await ctx.viewer();
    requireChatApp(viewer.app);
    await ctx.rt.tasks.stop(ctx.params.task_id, { appId: viewer.app.id, endUserId: viewer.endUser.id });
    return { status: 200, body: { result: "success" } };
  });
  router.on("POST", "/completion-messages/:task_id/stop", async (ctx) => {
    const viewer = await ctx.viewer();
    requireCompletionApp(viewer.app);
    await ctx.rt.tasks.stop(ctx.params.task_id, { appId: viewer.app.id, endUserId: viewer.endUser.id });
    return { status: 200, body: { result: "success" } };
  });

  router.on("GET", "/messages/:message_id/suggested-questions", async (ctx) => {
    const data = await suggestedQuestions(ctx.rt, await ctx.viewer(), ctx.params.message_id);
    return { status: 200, body: { data } };
  });

  router.on("GET", "/chat-messages/:task_id/events", resume);
  router.on("GET", "/completion-messages/:task_id/events", resume);
}
