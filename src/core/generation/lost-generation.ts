// A generation whose instance died: its message ends as an error, keeping the answer saved so far
// (generations save it as it grows), and its readers get an error event instead of waiting for good.
import type { Db } from "../ports/database.js";
import type { TaskStore } from "../ports/task-store.js";
import type { OrphanedTask } from "../tasks/task-leases.js";
import { endOrphanedLog } from "../tasks/task-events.js";
import type { GenerationEvent } from "./events.js";

export const TASK_LOST = {
  code: "task_lost",
  status: 500,
  message: "The server generating this answer stopped before it finished; the answer so far is saved.",
} as const;

export async function endLostGeneration(deps: { db: Db; store: TaskStore }, task: OrphanedTask): Promise<"ended"> {
  const message = task.messageId ? await deps.db.message.findUnique({ where: { id: task.messageId } }) : null;
  if (!message) return endOrphanedLog(deps.store, task.taskId);
  // A generation that ended (its latency is written with its end) but died before it said so stays as it is.
  const { count } = await deps.db.message.updateMany({
    where: { id: message.id, providerResponseLatency: 0 },
    data: { status: "error", error: TASK_LOST.message },
  });
  if (count === 0) return endOrphanedLog(deps.store, task.taskId);
  const mode = message.appMode ?? "chat";
  const event: GenerationEvent = {
    taskId: task.taskId,
    messageId: message.id,
    conversationId: mode === "completion" ? null : message.conversationId,
    createdAt: message.createdAt,
    mode,
    type: "error",
    ...TASK_LOST,
  };
  return endOrphanedLog(deps.store, task.taskId, event);
}
