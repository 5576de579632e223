// Dify's web ("simple") SSE objects for the domain events of generations, workflow runs and chatflow
// turns (behaviour.md 3.4).
import type { GenerationEvent } from "../../core/generation/events.js";
import type { GenerationResult, StreamEvent } from "../../core/generation/generation.service.js";
import type { WorkflowEvent } from "../../core/workflows/events.js";
import { unixSeconds } from "../../core/time.js";
import { messageEndFileJson } from "./messages.js";

/** Dify's web ("simple") rendering of a generation event. */
export function renderGenerationEvent(e: GenerationEvent): object {
  const envelope: Record<string, unknown> =
    e.conversationId === null
      ? { message_id: e.messageId, created_at: unixSeconds(e.createdAt) }
      : { conversation_id: e.conversationId, message_id: e.messageId, created_at: unixSeconds(e.createdAt) };
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
      return { event: "message_end", ...envelope, task_id: e.taskId, id: e.messageId, metadata: { retriever_resources: e.retrieverResources }, files: e.files.length ? e.files.map(messageEndFileJson) : null };
    case "tts_message":
    case "tts_message_end":
      return { event: e.type, ...envelope, task_id: e.taskId, audio: e.audio };
    case "error":
      return { event: "error", ...envelope, code: e.code, message: e.message, status: e.status };
  }
}

/** The blocking-mode body (behaviour.md 3.7). */
export function blockingBody(r: GenerationResult): object {
  return {
    event: "message",
    task_id: r.taskId,
    id: r.messageId,
    message_id: r.messageId,
    ...(r.conversationId === null ? {} : { conversation_id: r.conversationId }),
    mode: r.mode,
    answer: r.answer,
    metadata: { retriever_resources: [] },
    created_at: unixSeconds(r.createdAt),
  };
}

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
    created_at: unixSeconds(e.node.createdAt),
    extras: {},
    iteration_id: e.node.iterationId,
    loop_id: e.node.loopId,
  };
}

export function renderWorkflowEvent(e: WorkflowEvent): object {
  const chat = e.mode === "advanced-chat";
  // Chat families carry the message envelope on every event; workflow apps the run id.
  const envelope: Record<string, unknown> = chat
    ? { conversation_id: e.conversationId, message_id: e.messageId, created_at: unixSeconds(e.createdAt) }
    : { workflow_run_id: e.runId };
  const run = { task_id: e.taskId, workflow_run_id: e.runId };
  switch (e.type) {
    case "workflow_started":
      return { event: e.type, ...envelope, ...run, data: { id: e.runId, workflow_id: e.workflowId, inputs: e.inputs, created_at: unixSeconds(e.createdAt), reason: e.reason } };
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
          finished_at: unixSeconds(e.finishedAt),
          files: [],
        },
      };
    case "container": {
      const base = { id: e.node.nodeId, node_id: e.node.nodeId, node_type: e.node.nodeType, title: e.node.title, created_at: unixSeconds(e.node.createdAt), extras: {} };
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
          finished_at: unixSeconds(e.at),
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
          expiration_time: unixSeconds(e.expirationTime),
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
      return { event: e.type, ...envelope, ...run, data: { node_id: e.nodeId, node_title: e.nodeTitle, expiration_time: unixSeconds(e.expirationTime) } };
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
          created_at: unixSeconds(e.at),
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
      return { event: "message_end", ...envelope, task_id: e.taskId, id: e.messageId, metadata: { retriever_resources: [] }, files: e.files.length ? e.files.map(messageEndFileJson) : [] };
    case "tts_message":
    case "tts_message_end":
      return { event: e.type, ...envelope, task_id: e.taskId, audio: e.audio };
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
          created_at: unixSeconds(e.runCreatedAt),
          finished_at: unixSeconds(e.finishedAt),
          exceptions_count: e.exceptionsCount,
          files: [],
        },
      };
    case "error":
      return { event: "error", ...envelope, code: e.code, message: e.message, status: e.status };
  }
}

/** A generation stream's event: a chatflow turn's events are its workflow's. */
export const renderStreamEvent = (e: StreamEvent): object => ("runId" in e ? renderWorkflowEvent(e) : renderGenerationEvent(e));
