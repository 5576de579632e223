// A workflow or chatflow run whose instance died goes on here, from its last finished node, in the
// same task log (its readers, on any instance, see it continue). The node that was running when the
// instance died runs again: at-least-once for that node. A run that cannot go on fails clearly.
import type { OrphanedTask } from "../tasks/task-leases.js";
import { failLostRun } from "./lost-run.js";
import { RunSession, type WorkflowDeps } from "./run-session.js";

export async function continueLostRun(deps: WorkflowDeps, task: OrphanedTask): Promise<"ended" | "continued"> {
  const session = task.workflowRunId ? await RunSession.takeOver(deps, task.workflowRunId) : null;
  if (!session) {
    const reason = "The server running this run stopped before it finished, and the run could not be continued.";
    return failLostRun({ db: deps.db, store: deps.tasks.store }, task, reason);
  }
  const started = await session.start({ lastSeq: await deps.tasks.store.lastSeq(task.taskId) });
  started.result.catch(() => {}); // its outcome is recorded and logged like any run's
  deps.log.info({ runId: session.runId, taskId: task.taskId }, "continued a run whose instance died");
  return "continued";
}
