// The domain events of a workflow or chatflow run, in order. REST renders them as Dify's SSE objects.
import type { MessageFileRecord } from "../messages/message-files.js";
import type { Usage } from "../ports/model.js";

export type WorkflowEnvelope = {
  taskId: string;
  runId: string;
  workflowId: string;
  mode: "workflow" | "advanced-chat";
  /** Chatflows only. */
  conversationId: string | null;
  messageId: string | null;
  /** The message's creation (chatflows) or the run's (workflows). */
  createdAt: Date;
};

export type NodeInfo = {
  executionId: string;
  nodeId: string;
  nodeType: string;
  title: string;
  index: number;
  predecessorNodeId: string | null;
  createdAt: Date;
  iterationId: string | null;
  loopId: string | null;
};

/** What Dify's human_input_required event carries (and the pause reason repeats). */
export type HumanInputRequired = {
  formId: string;
  nodeId: string;
  nodeTitle: string;
  formContent: string;
  inputs: Record<string, unknown>[];
  actions: { id: string; title: string; button_style: string }[];
  displayInUi: boolean;
  formToken: string;
  resolvedDefaultValues: Record<string, string>;
  expirationTime: Date;
};

export type WorkflowEvent = WorkflowEnvelope &
  (
    | { type: "workflow_started"; inputs: Record<string, unknown>; reason: "initial" | "resumption" }
    | { type: "node_started"; node: NodeInfo; inputs: Record<string, unknown> | null }
    | {
        type: "node_finished";
        node: NodeInfo;
        status: "succeeded" | "failed" | "exception" | "stopped";
        error: string | null;
        inputs: Record<string, unknown> | null;
        processData: Record<string, unknown> | null;
        outputs: Record<string, unknown> | null;
        elapsedTime: number;
        totalTokens: number;
        finishedAt: Date;
      }
    | { type: "node_retry"; node: NodeInfo; error: string; retryIndex: number }
    | {
        type: "container";
        kind: "iteration" | "loop";
        phase: "started" | "next" | "completed";
        node: NodeInfo;
        index: number | null;
        inputs: Record<string, unknown> | null;
        outputs: Record<string, unknown> | null;
        steps: number;
        elapsedTime: number;
        at: Date;
      }
    | { type: "text_chunk"; text: string; selector: string[] }
    | ({ type: "human_input_required" } & HumanInputRequired)
    | { type: "human_input_form_filled"; nodeId: string; nodeTitle: string; renderedContent: string; actionId: string; actionText: string }
    | { type: "human_input_form_timeout"; nodeId: string; nodeTitle: string; expirationTime: Date }
    | {
        type: "workflow_paused";
        pausedNodes: string[];
        reasons: Record<string, unknown>[];
        outputs: Record<string, unknown>;
        elapsedTime: number;
        totalTokens: number;
        totalSteps: number;
        at: Date;
      }
    | { type: "message"; answer: string; selector: string[] }
    | { type: "message_end"; usage: Usage; files: MessageFileRecord[] }
    /** Chatflows that auto-play speech: a piece of the spoken answer (base64 MP3), in order. */
    | { type: "tts_message"; audio: string }
    /** The spoken answer is complete (audio ""): after message_end, before workflow_finished. */
    | { type: "tts_message_end"; audio: string }
    | {
        type: "workflow_finished";
        status: "succeeded" | "failed" | "stopped" | "partial-succeeded";
        outputs: Record<string, unknown>;
        error: string | null;
        elapsedTime: number;
        totalTokens: number;
        totalSteps: number;
        exceptionsCount: number;
        createdBy: { id: string; user: string };
        runCreatedAt: Date;
        finishedAt: Date;
      }
    | { type: "error"; code: string; message: string; status: number }
  );
