// Workflow runs (POST /workflows/run) and chatflow turns (advanced-chat POST /chat-messages): validate
// before anything starts, then run the graph as a task whose events any reader can follow, and persist
// the run, its node executions and (for chatflows) the message.
import crypto from "node:crypto";
import type { Prisma, Workflow } from "../../generated/prisma/client.js";
import type { Viewer } from "../auth/passport.service.js";
import { userInputForm } from "../apps/dsl.js";
import { requireWorkflowApp } from "../apps/modes.js";
import { appUnavailable, AppError } from "../errors.js";
import { validateInputs } from "../apps/inputs.js";
import { parseFiles, resolveFileInputs } from "../files/file-refs.js";
import type { Logger } from "pino";
import type { Db } from "../ports/database.js";
import type { ModelProvider } from "../ports/model.js";
import type { HistoryTurn } from "../chat/turn.js";
import type { TaskContext, TaskRunner } from "../tasks/task-runner.js";
import { WorkflowEngine, type EngineEvent, type EngineState, type NodeExecution, type RunOutcome } from "./engine.js";
import { createForm, HUMAN_INPUT, type HumanInputRequest } from "./human-input.service.js";
import type { NodeInfo, WorkflowEnvelope, WorkflowEvent } from "./events.js";
import { WorkflowGraph } from "./graph.js";
import { createExecutors } from "./nodes/index.js";
import type { Sandbox } from "../ports/sandbox.js";
import type { OutboundFetch } from "../ports/outbound-fetch.js";
import { VariablePool } from "./variable-pool.js";

export type WorkflowDeps = { db: Db; models: ModelProvider; tasks: TaskRunner; log: Logger; sandbox: () => Sandbox; fetch: OutboundFetch };

export type StartedRun = { taskId: string; runId: string; result: Promise<RunOutcome> };

const MAX_STEPS = 500;
const MAX_RUN_MS = 20 * 60 * 1000; // Dify's APP_MAX_EXECUTION_TIME


// A workflow row is never changed (publishing makes a new one), so it can be kept by id: the start of
// a run then reads nothing from a database that concurrent runs are writing to.
const workflows = new Map<string, Workflow>();

export async function publishedWorkflow(deps: Pick<WorkflowDeps, "db">, viewer: Viewer): Promise<Workflow> {
  const id = viewer.app.workflowId;
  const cached = id ? workflows.get(id) : undefined;
  if (cached) return cached;
  const workflow = id ? await deps.db.workflow.findUnique({ where: { id } }) : null;
  if (!workflow) throw appUnavailable();
  if (workflows.size >= 500) workflows.delete(workflows.keys().next().value!);
  workflows.set(workflow.id, workflow);
  return workflow;
}

/** The env variables of the workflow, by name. */
function environment(workflow: Workflow): Record<string, unknown> {
  return Object.fromEntries(((workflow.environmentVariables ?? []) as any[]).map((v) => [v.name, v.value]));
}

export type RunPlan = {
  viewer: Viewer;
  workflow: Workflow;
  inputs: Record<string, unknown>;
  /** sys.* values beyond the common ones. */
  sys: Record<string, unknown>;
  conversationVariables?: Record<string, unknown>;
  history?: HistoryTurn[];
  envelope: Omit<WorkflowEnvelope, "taskId" | "runId">;
  /** Chatflows: persist the answer on the message when the run ends. */
  onFinished?: (outcome: RunOutcome, task: TaskContext<WorkflowEvent>, envelope: WorkflowEnvelope, pool: VariablePool) => Promise<void>;
};

/** POST /workflows/run. */
export async function startWorkflowRun(deps: WorkflowDeps, viewer: Viewer, req: { inputs?: unknown; files?: unknown }): Promise<StartedRun> {
  requireWorkflowApp(viewer.app);
  const workflow = await publishedWorkflow(deps, viewer);
  const form = userInputForm("workflow", null, workflow.graph);
  const inputs = resolveFileInputs(form, validateInputs(form, req.inputs ?? {}));
  return runWorkflow(deps, {
    viewer,
    workflow,
    inputs,
    sys: { files: parseFiles(req.files) },
    envelope: { workflowId: workflow.id, mode: "workflow", conversationId: null, messageId: null, createdAt: new Date() },
  });
}

export async function runWorkflow(deps: WorkflowDeps, plan: RunPlan): Promise<StartedRun> {
  const { viewer, workflow } = plan;
  const graph = WorkflowGraph.fromDsl(workflow.graph);
  const startNode = graph.startOf(null);
  const taskId = crypto.randomUUID();
  const runId = crypto.randomUUID();
  const createdAt = new Date();
  // The run's row is written inside the task, after workflow_started is out: the first event does
  // not wait behind other runs' writes.
  const insertRun = async () => {
    await deps.db.workflowRun.create({
      data: {
        id: runId,
        taskId,
        appId: viewer.app.id,
        workflowId: workflow.id,
        type: plan.envelope.mode === "workflow" ? "workflow" : "chat",
        version: workflow.version,
        // The run points at its workflow, whose rows never change: no copy of the graph per run.
        graph: {},
        inputs: plan.inputs as Prisma.InputJsonValue,
        status: "running",
        conversationId: plan.envelope.conversationId,
        messageId: plan.envelope.messageId,
        createdBy: viewer.endUser.id,
        createdAt,
      },
    });
  };
  let settle!: { resolve(o: RunOutcome): void; reject(e: unknown): void };
  const result = new Promise<RunOutcome>((resolve, reject) => (settle = { resolve, reject }));
  result.catch(() => {});
  const started = await deps.tasks.start<WorkflowEvent>(
    { appId: viewer.app.id, endUserId: viewer.endUser.id, kind: plan.envelope.mode },
    (task) => execute(deps, plan, graph, startNode.id, runId, createdAt, task, undefined, insertRun).then(settle.resolve, settle.reject),
    taskId,
  );
  return { taskId: started.taskId, runId, result };
}

/** A paused run coming back: its saved state and what the person answered. */
export type Resumption = {
  state: EngineState;
  filled: { nodeId: string; nodeTitle: string; renderedContent: string; actionId: string; actionText: string; inputs: Record<string, unknown> } | null;
  timedOut: { nodeId: string; nodeTitle: string; expirationTime: Date } | null;
};

export async function execute(
  deps: WorkflowDeps,
  plan: RunPlan,
  graph: WorkflowGraph,
  startId: string,
  runId: string,
  runCreatedAt: Date,
  task: TaskContext<WorkflowEvent>,
  resume?: Resumption,
  insertRun?: () => Promise<void>,
): Promise<RunOutcome> {
  const envelope: WorkflowEnvelope = { ...plan.envelope, taskId: task.taskId, runId };
  const emit = (event: DistributiveOmit<WorkflowEvent, keyof WorkflowEnvelope>) => task.emit({ ...envelope, ...event } as WorkflowEvent);
  const sys = {
    ...plan.sys,
    user_id: plan.viewer.endUser.sessionId,
    app_id: plan.viewer.app.id,
    workflow_id: plan.workflow.id,
    workflow_run_id: runId,
  };
  const pool = resume
    ? new VariablePool(resume.state.pool)
    : new VariablePool({ sys, env: environment(plan.workflow), conversation: plan.conversationVariables ?? {}, [startId]: plan.inputs });
  const began = performance.now();
  await emit({
    type: "workflow_started",
    inputs: { ...plan.inputs, ...Object.fromEntries(Object.entries(sys).map(([k, v]) => [`sys.${k}`, v])) },
    reason: resume ? "resumption" : "initial",
  });
  // Embedded PGlite runs in this thread and never waits on I/O: let the first event reach the socket
  // before the run's database work starts.
  await new Promise((resolve) => setImmediate(resolve));
  await insertRun?.();
  if (resume?.filled) {
    const f = resume.filled;
    pool.setOne(HUMAN_INPUT, f.nodeId, { action: f.actionId, inputs: f.inputs });
    await emit({ type: "human_input_form_filled", nodeId: f.nodeId, nodeTitle: f.nodeTitle, renderedContent: f.renderedContent, actionId: f.actionId, actionText: f.actionText });
  }
  if (resume?.timedOut) {
    const t = resume.timedOut;
    pool.setOne(HUMAN_INPUT, t.nodeId, { action: "__timeout", inputs: {} });
    await emit({ type: "human_input_form_timeout", nodeId: t.nodeId, nodeTitle: t.nodeTitle, expirationTime: t.expirationTime });
  }

  const executions: Prisma.WorkflowNodeExecutionCreateManyInput[] = [];
  const info = (e: NodeExecution): NodeInfo => ({
    executionId: e.id,
    nodeId: e.node.id,
    nodeType: e.node.type,
    title: e.node.title,
    index: e.index,
    predecessorNodeId: e.predecessorId,
    createdAt: e.startedAt,
    iterationId: e.container && graph.nodes.get(e.container.id)?.type === "iteration" ? e.container.id : null,
    loopId: e.container && graph.nodes.get(e.container.id)?.type === "loop" ? e.container.id : null,
  });
  const onEvent = async (event: EngineEvent) => {
    switch (event.type) {
      case "node_started":
        // Dify announces containers with iteration_started / loop_started instead.
        if (event.execution.node.type !== "iteration" && event.execution.node.type !== "loop") {
          await emit({ type: "node_started", node: info(event.execution), inputs: null });
        }
        return;
      case "container":
        await emit({
          type: "container",
          kind: event.kind,
          phase: event.phase,
          node: info(event.execution),
          index: event.index ?? null,
          inputs: event.inputs ?? null,
          outputs: event.outputs ?? null,
          steps: event.steps ?? 0,
          elapsedTime: (Date.now() - event.execution.startedAt.getTime()) / 1000,
          at: new Date(),
        });
        return;
      case "node_retry":
        await emit({ type: "node_retry", node: info(event.execution), error: event.error, retryIndex: event.retryIndex });
        return;
      case "text":
        if (plan.envelope.mode === "workflow") await emit({ type: "text_chunk", text: event.text, selector: event.selector });
        else await emit({ type: "message", answer: event.text, selector: event.selector });
        return;
      case "node_finished": {
        const e = event.execution;
        const elapsedTime = (event.finishedAt.getTime() - e.startedAt.getTime()) / 1000;
        const totalTokens = event.result?.usage?.totalTokens ?? 0;
        executions.push({
          id: e.id,
          workflowRunId: runId,
          index: e.index,
          predecessorNodeId: e.predecessorId,
          nodeExecutionId: e.id,
          nodeId: e.node.id,
          nodeType: e.node.type,
          title: e.node.title,
          inputs: (event.result?.inputs ?? null) as Prisma.InputJsonValue,
          processData: (event.result?.processData ?? null) as Prisma.InputJsonValue,
          outputs: (event.result?.outputs ?? null) as Prisma.InputJsonValue,
          status: event.status,
          error: event.error,
          elapsedTime,
          executionMetadata: { total_tokens: totalTokens, ...(e.container ? { container_id: e.container.id, index: e.container.index } : {}) },
          createdBy: plan.viewer.endUser.id,
          createdAt: e.startedAt,
          finishedAt: event.finishedAt,
        });
        await emit({
          type: "node_finished",
          node: info(e),
          status: event.status,
          error: event.error,
          inputs: event.result?.inputs ?? null,
          processData: event.result?.processData ?? null,
          outputs: event.result?.outputs ?? null,
          elapsedTime,
          totalTokens,
          finishedAt: event.finishedAt,
        });
        return;
      }
    }
  };

  const requestInput = async (request: HumanInputRequest) => {
    const form = await createForm(deps.db, { appId: plan.viewer.app.id, runId, request });
    await emit({ type: "human_input_required", ...form.event });
    return form.event;
  };
  const engine = new WorkflowEngine(graph, {
    executors: createExecutors({ models: deps.models, history: plan.history ?? [], sandbox: deps.sandbox, fetch: deps.fetch, requestInput }),
    onEvent,
    signal: task.signal,
    maxSteps: MAX_STEPS,
    deadline: Date.now() + MAX_RUN_MS,
    streamTo: plan.envelope.mode === "workflow" ? "end" : "answer",
  });
  let outcome: RunOutcome;
  try {
    outcome = await engine.run(pool, resume?.state);
  } catch (err) {
    deps.log.error({ err, runId }, "workflow engine failed");
    outcome = { status: "failed", outputs: {}, error: (err as Error).message, steps: 0, tokens: 0, exceptions: 0, answer: "", ended: false };
  }
  const finishedAt = new Date();
  const elapsedTime = (performance.now() - began) / 1000;
  if (outcome.status === "paused") return pause(deps, plan, runId, runCreatedAt, outcome, executions, elapsedTime, emit, task, envelope, pool);
  await deps.db.$transaction([
    deps.db.workflowNodeExecution.createMany({ data: executions }),
    deps.db.workflowRun.update({
      where: { id: runId },
      data: {
        status: outcome.status,
        outputs: outcome.outputs as Prisma.InputJsonValue,
        error: outcome.error,
        elapsedTime: { increment: elapsedTime },
        totalTokens: outcome.tokens,
        totalSteps: outcome.steps,
        exceptionsCount: outcome.exceptions,
        finishedAt,
      },
    }),
  ]);
  await plan.onFinished?.(outcome, task, envelope, pool);
  await emit({
    type: "workflow_finished",
    status: outcome.status as "succeeded",
    outputs: outcome.outputs,
    error: outcome.error,
    elapsedTime,
    totalTokens: outcome.tokens,
    totalSteps: outcome.steps,
    exceptionsCount: outcome.exceptions,
    createdBy: { id: plan.viewer.endUser.id, user: plan.viewer.endUser.sessionId },
    runCreatedAt,
    finishedAt,
  });
  // Unlike Dify, whose relay drops it, the error event after a failed run is delivered.
  if (outcome.status === "failed") {
    await emit({ type: "error", code: "invalid_param", message: `Run failed: ${outcome.error}`, status: 400 });
    throw new AppError("invalid_param", 400, `Run failed: ${outcome.error}`);
  }
  return outcome;
}

/**
 * A run waiting for a person: its state goes to the database, so that whichever instance receives the
 * form resumes it; the next task's log is opened now, so a reader can wait on it before the submit.
 */
async function pause(
  deps: WorkflowDeps,
  plan: RunPlan,
  runId: string,
  runCreatedAt: Date,
  outcome: RunOutcome,
  executions: Prisma.WorkflowNodeExecutionCreateManyInput[],
  elapsedTime: number,
  emit: (event: DistributiveOmit<WorkflowEvent, keyof WorkflowEnvelope>) => Promise<number>,
  task: TaskContext<WorkflowEvent>,
  envelope: WorkflowEnvelope,
  pool: VariablePool,
): Promise<RunOutcome> {
  const nextTaskId = crypto.randomUUID();
  await deps.db.$transaction([
    deps.db.workflowNodeExecution.createMany({ data: executions }),
    deps.db.workflowPause.create({
      data: { workflowRunId: runId, state: outcome.state as unknown as Prisma.InputJsonValue, reason: { reasons: outcome.pauseReasons ?? [] } as Prisma.InputJsonValue },
    }),
    deps.db.workflowRun.update({
      where: { id: runId },
      data: {
        status: "paused",
        taskId: nextTaskId,
        elapsedTime: { increment: elapsedTime },
        totalTokens: outcome.tokens,
        totalSteps: outcome.steps,
        exceptionsCount: outcome.exceptions,
      },
    }),
  ]);
  await deps.tasks.store.start({ taskId: nextTaskId, appId: plan.viewer.app.id, endUserId: plan.viewer.endUser.id, kind: plan.envelope.mode });
  await plan.onFinished?.(outcome, task, envelope, pool);
  await emit({
    type: "workflow_paused",
    pausedNodes: outcome.state?.paused ?? [],
    reasons: outcome.pauseReasons ?? [],
    outputs: {},
    elapsedTime,
    totalTokens: outcome.tokens,
    totalSteps: outcome.steps,
    at: runCreatedAt,
  });
  return outcome;
}

type DistributiveOmit<T, K extends keyof any> = T extends unknown ? Omit<T, K> : never;
