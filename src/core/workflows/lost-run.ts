// A workflow or chatflow run whose instance died and that cannot be continued: it fails with a clear
// error (its chatflow message too, keeping the answer sent so far), and its readers are told.
import type { Db } from "../ports/database.js";
import type { TaskStore } from "../ports/task-store.js";
import type { OrphanedTask } from "../tasks/task-leases.js";
import { endOrphanedLog } from "../tasks/task-events.js";
import type { WorkflowEvent } from "./events.js";

export async function failLostRun(deps: { db: Db; store: TaskStore }, task: OrphanedTask, reason: string): Promise<"ended"> {
  const run = task.workflowRunId ? await deps.db.workflowRun.findUnique({ where: { id: task.workflowRunId } }) : null;
  const { count } = run
    ? await deps.db.workflowRun.updateMany({ where: { id: run.id, status: "running" }, data: { status: "failed", error: reason, finishedAt: new Date() } })
    : { count: 0 };
  if (!run || count === 0) return endOrphanedLog(deps.store, task.taskId);
  const message = run.messageId ? await deps.db.message.findUnique({ where: { id: run.messageId } }) : null;
  if (message) {
    const answer = (run.checkpoint as { totals?: { answer?: string } } | null)?.totals?.answer ?? message.answer;
    await deps.db.message.update({ where: { id: message.id }, data: { status: "error", error: reason, answer } });
  }
  const event: WorkflowEvent = {
    taskId: task.taskId,
    runId: run.id,
    workflowId: run.workflowId,
    mode: run.type === "chat" ? "advanced-chat" : "workflow",
    conversationId: run.conversationId,
    messageId: run.messageId,
    createdAt: message?.createdAt ?? run.createdAt,
    type: "error",
    code: "task_lost",
    status: 500,
    message: reason,
  };
  return endOrphanedLog(deps.store, task.taskId, event);
}
