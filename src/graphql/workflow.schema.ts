// Workflow and chatflow runs over GraphQL: one type per event kind (with typed outputs for the node
// kinds we know and JSON for the rest), runs and their node executions, human input forms.
import { builder } from "./builder.js";
import { FileInput, fileReferences, globalId, recordId, subscriptionStream, type AppErrorValue } from "./common.schema.js";
import { connectionOf } from "./conversation.schema.js";
import { AppError } from "../core/errors.js";
import type { WorkflowEvent } from "../core/workflows/events.js";
import type { FormRecord } from "../core/workflows/human-input.service.js";
import type { NodeExecutionRecord, RunRecord } from "../core/workflows/workflow.service.js";

type Seq<E> = E & { seq: number };
type Of<K extends WorkflowEvent["type"]> = Seq<Extract<WorkflowEvent, { type: K }>>;

const WorkflowEventInterface = builder.interfaceRef<Seq<WorkflowEvent>>("WorkflowEvent").implement({
  description: "One event of a workflow or chatflow run, in order.",
  fields: (t) => ({
    seq: t.int({ resolve: (e) => e.seq }),
    taskId: t.id({ resolve: (e) => e.taskId }),
    runId: t.id({ description: "The run's global id (a WorkflowRun node).", resolve: (e) => globalId("WorkflowRun", e.runId) }),
  }),
});

function eventType<K extends WorkflowEvent["type"]>(name: string, type: K, description: string, fields: (t: any) => Record<string, any>) {
  return builder.objectRef<Of<K>>(name).implement({
    description,
    interfaces: [WorkflowEventInterface],
    isTypeOf: (e: any) => e?.type === type && "runId" in e,
    fields,
  });
}

const nodeFields = (t: any) => ({
  executionId: t.id({ resolve: (e: any) => e.node.executionId }),
  nodeId: t.string({ resolve: (e: any) => e.node.nodeId }),
  nodeType: t.string({ resolve: (e: any) => e.node.nodeType }),
  title: t.string({ resolve: (e: any) => e.node.title }),
  index: t.int({ resolve: (e: any) => e.node.index }),
  iterationId: t.string({ nullable: true, resolve: (e: any) => e.node.iterationId }),
  loopId: t.string({ nullable: true, resolve: (e: any) => e.node.loopId }),
});

const Usage = builder.objectRef<{ prompt_tokens?: number; completion_tokens?: number; total_tokens?: number }>("NodeUsage").implement({
  fields: (t) => ({
    promptTokens: t.int({ resolve: (u) => u.prompt_tokens ?? 0 }),
    completionTokens: t.int({ resolve: (u) => u.completion_tokens ?? 0 }),
    totalTokens: t.int({ resolve: (u) => u.total_tokens ?? 0 }),
  }),
});

type Outputs = { nodeType: string; outputs: Record<string, any> };
const outputsType = (name: string, kind: string, fields: (t: any) => Record<string, any>) =>
  builder.objectRef<Outputs>(name).implement({ isTypeOf: (o: any) => o?.nodeType === kind, fields });

const LlmOutputs = outputsType("LlmNodeOutputs", "llm", (t) => ({
  text: t.string({ resolve: (o: Outputs) => String(o.outputs.text ?? "") }),
  usage: t.field({ type: Usage, resolve: (o: Outputs) => o.outputs.usage ?? {} }),
}));
const IfElseOutputs = outputsType("IfElseNodeOutputs", "if-else", (t) => ({
  selectedCaseId: t.string({ description: "The case that held, or \"false\".", resolve: (o: Outputs) => String(o.outputs.selected_case_id ?? "false") }),
  result: t.boolean({ resolve: (o: Outputs) => Boolean(o.outputs.result) }),
}));
const ClassifierOutputs = outputsType("QuestionClassifierNodeOutputs", "question-classifier", (t) => ({
  classId: t.string({ resolve: (o: Outputs) => String(o.outputs.class_id ?? "") }),
  className: t.string({ resolve: (o: Outputs) => String(o.outputs.class_name ?? "") }),
}));
const HttpOutputs = outputsType("HttpRequestNodeOutputs", "http-request", (t) => ({
  statusCode: t.int({ resolve: (o: Outputs) => Number(o.outputs.status_code ?? 0) }),
  body: t.string({ resolve: (o: Outputs) => String(o.outputs.body ?? "") }),
  headers: t.field({ type: "JSON", resolve: (o: Outputs) => o.outputs.headers ?? {} }),
}));
const TemplateOutputs = outputsType("TemplateTransformNodeOutputs", "template-transform", (t) => ({
  output: t.string({ resolve: (o: Outputs) => String(o.outputs.output ?? "") }),
}));
const AnswerOutputs = outputsType("AnswerNodeOutputs", "answer", (t) => ({
  answer: t.string({ resolve: (o: Outputs) => String(o.outputs.answer ?? "") }),
}));
const KNOWN = new Set(["llm", "if-else", "question-classifier", "http-request", "template-transform", "answer"]);
const GenericOutputs = builder.objectRef<Outputs>("GenericNodeOutputs").implement({
  description: "Outputs of a node kind without a type of its own.",
  isTypeOf: (o: any) => !KNOWN.has(o?.nodeType),
  fields: (t) => ({ values: t.field({ type: "JSON", resolve: (o) => o.outputs }) }),
});
const NodeOutputs = builder.unionType("NodeOutputs", {
  types: [LlmOutputs, IfElseOutputs, ClassifierOutputs, HttpOutputs, TemplateOutputs, AnswerOutputs, GenericOutputs],
  resolveType: (o) => {
    const map: Record<string, string> = {
      llm: "LlmNodeOutputs",
      "if-else": "IfElseNodeOutputs",
      "question-classifier": "QuestionClassifierNodeOutputs",
      "http-request": "HttpRequestNodeOutputs",
      "template-transform": "TemplateTransformNodeOutputs",
      answer: "AnswerNodeOutputs",
    };
    return map[o.nodeType] ?? "GenericNodeOutputs";
  },
});

export const WorkflowStarted = eventType("WorkflowStarted", "workflow_started", "The run started (or resumed).", (t) => ({
  workflowId: t.id({ resolve: (e: any) => e.workflowId }),
  inputs: t.field({ type: "JSON", resolve: (e: any) => e.inputs }),
  reason: t.string({ description: "initial or resumption.", resolve: (e: any) => e.reason }),
}));
export const NodeStarted = eventType("NodeStarted", "node_started", "A node started.", nodeFields);
export const NodeFinished = eventType("NodeFinished", "node_finished", "A node finished.", (t) => ({
  ...nodeFields(t),
  status: t.string({ description: "succeeded, failed, exception or stopped.", resolve: (e: any) => e.status }),
  error: t.string({ nullable: true, resolve: (e: any) => e.error }),
  elapsedTime: t.float({ resolve: (e: any) => e.elapsedTime }),
  totalTokens: t.int({ resolve: (e: any) => e.totalTokens }),
  outputs: t.field({
    type: NodeOutputs,
    nullable: true,
    description: "Typed for the node kinds we know; GenericNodeOutputs for the rest.",
    resolve: (e: any) => (e.outputs ? { nodeType: e.node.nodeType, outputs: e.outputs } : null),
  }),
}));
export const NodeRetry = eventType("NodeRetry", "node_retry", "A node failed and is tried again.", (t) => ({
  ...nodeFields(t),
  error: t.string({ resolve: (e: any) => e.error }),
  retryIndex: t.int({ resolve: (e: any) => e.retryIndex }),
}));
export const ContainerProgress = eventType("ContainerProgress", "container", "Iteration and loop progress.", (t) => ({
  ...nodeFields(t),
  kind: t.string({ description: "iteration or loop.", resolve: (e: any) => e.kind }),
  phase: t.string({ description: "started, next or completed.", resolve: (e: any) => e.phase }),
  index: t.int({ nullable: true, resolve: (e: any) => e.index }),
  outputs: t.field({ type: "JSON", nullable: true, resolve: (e: any) => e.outputs }),
}));
export const TextChunk = eventType("TextChunk", "text_chunk", "Text for the user (workflow apps).", (t) => ({
  text: t.string({ resolve: (e: any) => e.text }),
  fromVariableSelector: t.stringList({ resolve: (e: any) => e.selector }),
}));
export const HumanInputRequiredEvent = eventType("HumanInputRequired", "human_input_required", "The run waits for a person.", (t) => ({
  formId: t.id({ resolve: (e: any) => e.formId }),
  formToken: t.string({ description: "Open the form with humanInputForm(token), submit with submitHumanInput.", resolve: (e: any) => e.formToken }),
  nodeId: t.string({ resolve: (e: any) => e.nodeId }),
  nodeTitle: t.string({ resolve: (e: any) => e.nodeTitle }),
  formContent: t.string({ resolve: (e: any) => e.formContent }),
  inputs: t.field({ type: "JSON", resolve: (e: any) => e.inputs }),
  actions: t.field({ type: "JSON", resolve: (e: any) => e.actions }),
  expirationTime: t.field({ type: "DateTime", resolve: (e: any) => e.expirationTime }),
}));
export const HumanInputFormFilled = eventType("HumanInputFormFilled", "human_input_form_filled", "A person answered the form.", (t) => ({
  nodeId: t.string({ resolve: (e: any) => e.nodeId }),
  actionId: t.string({ resolve: (e: any) => e.actionId }),
  actionText: t.string({ resolve: (e: any) => e.actionText }),
  renderedContent: t.string({ resolve: (e: any) => e.renderedContent }),
}));
export const HumanInputFormTimeout = eventType("HumanInputFormTimeout", "human_input_form_timeout", "Nobody answered in time.", (t) => ({
  nodeId: t.string({ resolve: (e: any) => e.nodeId }),
}));
export const WorkflowPaused = eventType("WorkflowPaused", "workflow_paused", "The run is paused; follow it with runEvents.", (t) => ({
  pausedNodes: t.stringList({ resolve: (e: any) => e.pausedNodes }),
  reasons: t.field({ type: "JSON", resolve: (e: any) => e.reasons }),
}));
export const WorkflowFinished = eventType("WorkflowFinished", "workflow_finished", "The run ended.", (t) => ({
  status: t.string({ description: "succeeded, partial-succeeded, failed or stopped.", resolve: (e: any) => e.status }),
  outputs: t.field({ type: "JSON", resolve: (e: any) => e.outputs }),
  error: t.string({ nullable: true, resolve: (e: any) => e.error }),
  elapsedTime: t.float({ resolve: (e: any) => e.elapsedTime }),
  totalTokens: t.int({ resolve: (e: any) => e.totalTokens }),
  totalSteps: t.int({ resolve: (e: any) => e.totalSteps }),
}));
export const RunFailed = eventType("RunFailed", "error", "The run failed (after WorkflowFinished).", (t) => ({
  code: t.string({ resolve: (e: any) => e.code }),
  message: t.string({ resolve: (e: any) => e.message }),
  status: t.int({ resolve: (e: any) => e.status }),
}));

/** Every workflow event type; chatflow streams add MessageDelta and MessageEnd. */
export const WORKFLOW_EVENT_TYPES = [
  WorkflowStarted, NodeStarted, NodeFinished, NodeRetry, ContainerProgress, TextChunk, HumanInputRequiredEvent,
  HumanInputFormFilled, HumanInputFormTimeout, WorkflowPaused, WorkflowFinished, RunFailed,
];

export const WORKFLOW_TYPE_NAMES: Record<string, string> = {
  workflow_started: "WorkflowStarted",
  node_started: "NodeStarted",
  node_finished: "NodeFinished",
  node_retry: "NodeRetry",
  container: "ContainerProgress",
  text_chunk: "TextChunk",
  human_input_required: "HumanInputRequired",
  human_input_form_filled: "HumanInputFormFilled",
  human_input_form_timeout: "HumanInputFormTimeout",
  workflow_paused: "WorkflowPaused",
  workflow_finished: "WorkflowFinished",
  error: "RunFailed",
};

const WorkflowStreamEvent = builder.unionType("WorkflowStreamEvent", {
  description: "What a workflow run subscription yields: its events, or an AppError when it could not start.",
  types: [...WORKFLOW_EVENT_TYPES, AppError],
  resolveType: (value) => {
    if ((value as unknown as AppErrorValue).__typename === "AppError" || value instanceof AppError) return "AppError";
    return WORKFLOW_TYPE_NAMES[(value as Seq<WorkflowEvent>).type] ?? "RunFailed";
  },
});

const WorkflowRunInput = builder.inputType("WorkflowRunInput", {
  fields: (t) => ({
    inputs: t.field({ type: "JSON", description: "Values for the start node's variables (file variables take Dify's file references)." }),
    files: t.field({ type: [FileInput], description: "Files the run sees as sys.files." }),
  }),
});

builder.subscriptionFields((t) => ({
  workflowRun: t.field({
    type: WorkflowStreamEvent,
    description: "Run the current workflow app and stream its events.",
    args: { input: t.arg({ type: WorkflowRunInput, required: true }) },
    subscribe: (_root, { input }, ctx) =>
      subscriptionStream(async () => (await ctx.services.workflows.run(await ctx.viewer(), { inputs: input.inputs ?? {}, files: fileReferences(input.files) })).events),
    resolve: (e) => e as AppError,
  }),
  runEvents: t.field({
    type: WorkflowStreamEvent,
    description: "Follow a run you started: after `after` (a seq) of its current part, or its end when it is over.",
    args: {
      runId: t.arg.id({ required: true, description: "The run's global id or UUID." }),
      after: t.arg.int({ defaultValue: 0 }),
      includeStateSnapshot: t.arg.boolean({ defaultValue: false }),
    },
    subscribe: (_root, { runId, after, includeStateSnapshot }, ctx) =>
      subscriptionStream(async () =>
        ctx.services.workflows.follow(await ctx.viewer(), recordId(runId, "WorkflowRun")!, { after: after ?? 0, snapshot: includeStateSnapshot ?? false }),
      ),
    resolve: (e) => e as AppError,
  }),
}));

const NodeExecution = builder.objectRef<NodeExecutionRecord>("NodeExecution").implement({
  fields: (t) => ({
    id: t.exposeID("id"),
    nodeId: t.exposeString("nodeId"),
    nodeType: t.exposeString("nodeType"),
    title: t.exposeString("title"),
    index: t.exposeInt("index"),
    status: t.exposeString("status"),
    error: t.exposeString("error", { nullable: true }),
    elapsedTime: t.exposeFloat("elapsedTime"),
    inputs: t.expose("inputs", { type: "JSON", nullable: true }),
    outputs: t.field({ type: NodeOutputs, nullable: true, resolve: (n) => (n.outputs ? { nodeType: n.nodeType, outputs: n.outputs } : null) }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

const isRun = (v: unknown): v is RunRecord => typeof v === "object" && v !== null && "totalSteps" in v && "finishedAt" in v;

const WorkflowRunRef = builder.objectRef<RunRecord>("WorkflowRun");
builder.node(WorkflowRunRef, {
  description: "A run of a workflow or chatflow that you started.",
  id: { resolve: (r) => r.id },
  isTypeOf: isRun,
  fields: (t) => ({
    status: t.exposeString("status"),
    inputs: t.expose("inputs", { type: "JSON" }),
    outputs: t.expose("outputs", { type: "JSON", nullable: true }),
    error: t.exposeString("error", { nullable: true }),
    elapsedTime: t.exposeFloat("elapsedTime"),
    totalTokens: t.exposeInt("totalTokens"),
    totalSteps: t.exposeInt("totalSteps"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    finishedAt: t.expose("finishedAt", { type: "DateTime", nullable: true }),
    nodeExecutions: t.connection(
      {
        type: NodeExecution,
        resolve: async (r, args, ctx) => {
          const after = args.after && /^\d{1,9}$/.test(args.after) ? Number(args.after) : 0;
          const page = await ctx.services.workflows.nodeExecutions(await ctx.viewer(), r.id, { after, first: args.first ?? 50 });
          const connection = connectionOf(page, (n) => String(n.index), true);
          return { ...connection, pageInfo: { ...connection.pageInfo, hasPreviousPage: after > 0 } };
        },
      },
      { name: "NodeExecutionConnection" },
      { name: "NodeExecutionEdge" },
    ),
  }),
});

const FormActionRef = builder.objectRef<FormRecord["actions"][number]>("HumanInputFormAction").implement({
  fields: (t) => ({
    id: t.exposeString("id"),
    title: t.exposeString("title"),
    buttonStyle: t.exposeString("button_style"),
  }),
});

const HumanInputFormRef = builder.objectRef<FormRecord>("HumanInputForm").implement({
  description: "A form a run waits on; its token is the credential.",
  fields: (t) => ({
    formContent: t.exposeString("content"),
    inputs: t.field({ type: "JSON", description: "The form's fields, as the DSL declares them.", resolve: (f) => f.inputs }),
    resolvedDefaultValues: t.field({ type: "JSON", resolve: (f) => f.resolvedDefaultValues }),
    actions: t.field({ type: [FormActionRef], resolve: (f) => f.actions }),
    expirationTime: t.expose("expiresAt", { type: "DateTime" }),
  }),
});

builder.queryFields((t) => ({
  workflowRun: t.field({
    type: WorkflowRunRef,
    errors: {},
    args: { id: t.arg.id({ required: true, description: "The run's global id or UUID." }) },
    resolve: async (_root, { id }, ctx) => ctx.services.workflows.getRun(await ctx.viewer(), recordId(id, "WorkflowRun")!),
  }),
  humanInputForm: t.field({
    type: HumanInputFormRef,
    description: "The form behind a token (no passport needed).",
    errors: {},
    args: { token: t.arg.string({ required: true }) },
    resolve: (_root, { token }, ctx) => ctx.services.workflows.form(token, ctx.client),
  }),
}));

builder.mutationFields((t) => ({
  submitHumanInput: t.boolean({
    description: "Answer a form: the paused run resumes along the chosen action.",
    errors: { directResult: false, dataField: { name: "submitted" } },
    args: { token: t.arg.string({ required: true }), action: t.arg.string({ required: true }), inputs: t.arg({ type: "JSON" }) },
    resolve: async (_root, { token, action, inputs }, ctx) => (await ctx.services.workflows.submitForm(token, { action, inputs: inputs ?? {} }, ctx.client), true),
  }),
  stopWorkflowRun: t.boolean({
    description: "Stop a run you started (by its task id). False when there was nothing of yours to stop.",
    errors: { directResult: false, dataField: { name: "stopped" } },
    args: { taskId: t.arg.id({ required: true }) },
    resolve: async (_root, { taskId }, ctx) => ctx.services.workflows.stop(await ctx.viewer(), String(taskId)),
  }),
}));
