// GET /workflow/{run_id}/events: follow a run you started, after a pause or a dropped connection.
// A running run replays from the cursor and continues live; a finished one answers with its
// workflow_finished (after its node executions, when a snapshot is asked for).
import type { WorkflowNodeExecution, WorkflowRun } from "../../generated/prisma/client.js";
import type { Viewer } from "../auth/passport.service.js";
import { AppError, notFound } from "../errors.js";
import { UUID } from "../conversations/scope.js";
import type { TaskRunner } from "../tasks/task-runner.js";
import type { Db } from "../ports/database.js";
import type { LoggedEvent } from "../ports/task-store.js";
import { readTask } from "../tasks/task-events.js";
import type { NodeInfo, WorkflowEnvelope, WorkflowEvent } from "./events.js";


/** A run of the viewer's app that the viewer started, or Dify's 404s. */
export async function findOwnRun(db: Db, viewer: Viewer, runId: string) {
  const run = UUID.test(runId) ? await db.workflowRun.findFirst({ where: { id: runId, appId: viewer.app.id } }) : null;
  if (!run) throw notFound(`WorkflowRun not found, id=${runId}`);
  if (run.createdByRole !== "end_user") throw notFound(`WorkflowRun not created by end user, id=${runId}`);
  if (run.createdBy !== viewer.endUser.id) throw notFound(`WorkflowRun not created by the current end user, id=${runId}`);
  return run;
}

/** The run's node executions in order, a page at a time (after the index `after`). */
export async function listNodeExecutions(db: Db, viewer: Viewer, runId: string, page: { after: number; first: number }) {
  const run = await findOwnRun(db, viewer, runId);
  const rows = await db.workflowNodeExecution.findMany({
    where: { workflowRunId: run.id, index: { gt: page.after } },
    orderBy: { index: "asc" },
    take: page.first + 1,
  });
  return { rows: rows.slice(0, page.first), hasMore: rows.length > page.first };
}

export async function openRunEvents(
  deps: { db: Db; tasks: TaskRunner },
  viewer: Viewer,
  runId: string,
  opts: { after: number; snapshot: boolean },
): Promise<(signal?: AbortSignal) => AsyncIterable<LoggedEvent>> {
  const run = await findOwnRun(deps.db, viewer, runId);
  if (run.status === "running" || run.status === "paused") {
    if (viewer.app.mode !== "workflow" && viewer.app.mode !== "advanced-chat") throw new AppError("invalid_param", 400, "the app is not a workflow or chatflow app");
    const meta = run.taskId ? await deps.tasks.store.meta(run.taskId) : null;
    if (meta && meta.state !== "expired") return (signal) => readTask(deps.tasks.store, run.taskId!, opts.after, signal);
  }
  // Finished (or its live log is gone): rebuild the end from the database.
  const envelope: WorkflowEnvelope = {
    taskId: run.taskId ?? run.id,
    runId: run.id,
    workflowId: run.workflowId,
    mode: run.type === "chat" ? "advanced-chat" : "workflow",
    conversationId: run.conversationId,
    messageId: run.messageId,
    createdAt: run.createdAt,
  };
  const nodes = opts.snapshot ? await deps.db.workflowNodeExecution.findMany({ where: { workflowRunId: run.id }, orderBy: { index: "asc" } }) : [];
  const events = [...nodes.flatMap((n) => nodeEvents(envelope, n)), finishedEvent(envelope, run, viewer)];
  return async function* () {
    let seq = 0;
    for (const event of events) yield { seq: ++seq, event };
  };
}

/** A recorded node execution, replayed as its node_started and node_finished. */
function nodeEvents(envelope: WorkflowEnvelope, n: WorkflowNodeExecution): WorkflowEvent[] {
  const node: NodeInfo = {
    executionId: n.id,
    nodeId: n.nodeId,
    nodeType: n.nodeType,
    title: n.title,
    index: n.index,
    predecessorNodeId: n.predecessorNodeId,
    createdAt: n.createdAt,
    iterationId: null,
    loopId: null,
  };
  return [
    { ...envelope, type: "node_started", node, inputs: null },
    {
      ...envelope,
      type: "node_finished",
      node,
      status: n.status as "succeeded",
      error: n.error,
      inputs: null,
      processData: null,
      outputs: null,
      elapsedTime: n.elapsedTime,
      totalTokens: Number((n.executionMetadata as any)?.total_tokens ?? 0),
      finishedAt: n.finishedAt ?? n.createdAt,
    },
  ];
}

/** A finished run's workflow_finished, from its row. */
function finishedEvent(envelope: WorkflowEnvelope, run: WorkflowRun, viewer: Viewer): WorkflowEvent {
  return {
    ...envelope,
    type: "workflow_finished",
    status: run.status as "succeeded",
    outputs: (run.outputs ?? {}) as Record<string, unknown>,
    error: run.error,
    elapsedTime: run.elapsedTime,
    totalTokens: run.totalTokens,
    totalSteps: run.totalSteps,
    exceptionsCount: run.exceptionsCount,
    createdBy: { id: viewer.endUser.id, user: viewer.endUser.sessionId },
    runCreatedAt: run.createdAt,
    finishedAt: run.finishedAt ?? run.createdAt,
  };
}
