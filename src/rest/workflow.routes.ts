// Workflow apps: POST /workflows/run (always streaming, as in Dify), its stop route, and the rendering
// of workflow and chatflow events in Dify's web ("simple") form.
import type { WorkflowEvent } from "../core/workflows/events.js";
import { startWorkflowRun } from "../core/workflows/run.service.js";
import { requireWorkflowApp } from "../core/apps/modes.js";
import type { Router } from "./router.js";
import { writeSse } from "./sse.js";
import { openRunEvents } from "../core/workflows/run-events.service.js";
import { parseCursor } from "../core/tasks/task-events.js";

/** The node data Dify's web rendering keeps: ids and timing; inputs and outputs are left out. */
function nodeData(e: Extract<WorkflowEvent, { node: unknown }>) {
  return {
    id: e.node.executionId,
    node_id: e.node.nodeId,
    node_type: e.node.nodeType,
    title: e.node.title,
    index: e.node.index,
    predecessor_node_id: e.node.predecessorNodeId,
    inputs: null,
    created_at: e.node.createdAt,
    extras: {},
    iteration_id: e.node.iterationId,
    loop_id: e.node.loopId,
  };
}

export function renderWorkflowEvent(e: WorkflowEvent): object {
  const chat = e.mode === "advanced-chat";
  // Chat families carry the message envelope on every event; workflow apps the run id.
  const envelope: Record<string, unknown> = chat
    ? { conversation_id: e.conversationId, message_id: e.messageId, created_at: e.createdAt }
    : { workflow_run_id: e.runId };
  const run = { task_id: e.taskId, workflow_run_id: e.runId };
  switch (e.type) {
    case "workflow_started":
      return { event: e.type, ...envelope, ...run, data: { id: e.runId, workflow_id: e.workflowId, inputs: e.inputs, created_at: e.createdAt, reason: e.reason } };
    case "node_started":
      return { event: e.type, ...envelope, ...run, data: nodeData(e) };
    case "node_retry":
      return { event: e.type, ...envelope, ...run, data: { ...nodeData(e), status: "retry", error: e.error, retry_index: e.retryIndex } };
    case "node_finished":
      return {
        event: e.type,
        ...envelope,
        ...run,
        data: {
          ...nodeData(e),
          process_data: null,
          outputs: null,
          status: e.status,
          error: e.error,
          elapsed_time: e.elapsedTime,
          execution_metadata: null,
          finished_at: e.finishedAt,
          files: [],
        },
      };
    case "container": {
      const base = { id: e.node.nodeId, node_id: e.node.nodeId, node_type: e.node.nodeType, title: e.node.title, created_at: e.node.createdAt, extras: {} };
      const event = `${e.kind}_${e.phase}`;
      if (e.phase === "started") return { event, ...envelope, ...run, data: { ...base, metadata: {}, inputs: e.inputs, inputs_truncated: false } };
      if (e.phase === "next") return { event, ...envelope, ...run, data: { ...base, index: e.index, ...(e.kind === "loop" ? { pre_loop_output: {} } : {}) } };
      return {
        event,
        ...envelope,
        ...run,
        data: {
          ...base,
          outputs: e.outputs,
          outputs_truncated: false,
          inputs: e.inputs,
          inputs_truncated: false,
          status: "succeeded",
          error: null,
          elapsed_time: e.elapsedTime,
          total_tokens: 0,
          execution_metadata: {},
          finished_at: e.at,
          steps: e.steps,
        },
      };
    }
    case "human_input_required":
      return {
        event: e.type,
        ...envelope,
        ...run,
        data: {
          form_id: e.formId,
          node_id: e.nodeId,
          node_title: e.nodeTitle,
          form_content: e.formContent,
          inputs: e.inputs,
          actions: e.actions,
          display_in_ui: e.displayInUi,
          form_token: e.formToken,
          resolved_default_values: e.resolvedDefaultValues,
          expiration_time: e.expirationTime,
        },
      };
    case "human_input_form_filled":
      return {
        event: e.type,
        ...envelope,
        ...run,
        data: { node_id: e.nodeId, node_title: e.nodeTitle, rendered_content: e.renderedContent, action_id: e.actionId, action_text: e.actionText },
      };
    case "human_input_form_timeout":
      return { event: e.type, ...envelope, ...run, data: { node_id: e.nodeId, node_title: e.nodeTitle, expiration_time: e.expirationTime } };
    case "workflow_paused":
      return {
        event: e.type,
        ...envelope,
        ...run,
        data: {
          workflow_run_id: e.runId,
          paused_nodes: e.pausedNodes,
          outputs: e.outputs,
          reasons: e.reasons,
          status: "paused",
          created_at: e.at,
          elapsed_time: e.elapsedTime,
          total_tokens: e.totalTokens,
          total_steps: e.totalSteps,
        },
      };
    case "text_chunk":
      return { event: e.type, ...envelope, task_id: e.taskId, data: { text: e.text, from_variable_selector: e.selector } };
    case "message":
      return { event: "message", ...envelope, task_id: e.taskId, id: e.messageId, answer: e.answer, from_variable_selector: e.selector };
    case "message_end":
      return { event: "message_end", ...envelope, task_id: e.taskId, id: e.messageId, metadata: { retriever_resources: [] }, files: [] };
    case "workflow_finished":
      return {
        event: e.type,
        ...envelope,
        ...run,
        data: {
          id: e.runId,
          workflow_id: e.workflowId,
          status: e.status,
          outputs: e.outputs,
          error: e.error,
          elapsed_time: e.elapsedTime,
          total_tokens: e.totalTokens,
          total_steps: e.totalSteps,
          created_by: e.createdBy,
          created_at: e.runCreatedAt,
          finished_at: e.finishedAt,
          exceptions_count: e.exceptionsCount,
          files: [],
        },
      };
    case "error":
      return { event: "error", ...envelope, code: e.code, message: e.message, status: e.status };
  }
}


export function registerWorkflowRoutes(router: Router) {
  router.on("POST", "/workflows/run", async (ctx) => {
    const viewer = await ctx.viewer();
    const body = await ctx.json();
    const started = await startWorkflowRun(ctx.rt, viewer, { inputs: body.inputs, files: body.files });
    await writeSse(ctx.req, ctx.res, (signal) => ctx.rt.tasks.store.read(started.taskId, 0, signal), renderWorkflowEvent);
    return { written: true };
  });

  router.on("GET", "/workflow/:run_id/events", async (ctx) => {
    const viewer = await ctx.viewer();
    const events = await openRunEvents(ctx.rt, viewer, ctx.params.run_id, {
      after: parseCursor(ctx.query.get("cursor") ?? ctx.header("last-event-id")),
      snapshot: ctx.query.get("include_state_snapshot") === "true",
    });
    await writeSse(ctx.req, ctx.res, events, renderWorkflowEvent);
    return { written: true };
  });

  // Owner-checked, unlike Dify's; the answer is the same either way.
  router.on("POST", "/workflows/tasks/:task_id/stop", async (ctx) => {
    const viewer = await ctx.viewer();
    requireWorkflowApp(viewer.app);
    await ctx.rt.tasks.stop(ctx.params.task_id, { appId: viewer.app.id, endUserId: viewer.endUser.id });
    return { status: 200, body: { result: "success" } };
  });
}
