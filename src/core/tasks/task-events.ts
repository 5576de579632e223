// Resume: a task's events after a cursor, replayed and then live, for its owner only. Beyond Dify,
// which offers this for workflow runs alone.
import type { Viewer } from "../auth/passport.service.js";
import { AppError, invalidParam, notFound } from "../errors.js";
import type { TaskRunner } from "./task-runner.js";
import type { LoggedEvent } from "../ports/task-store.js";

/** A cursor is the sequence number of the last event seen; absent or "" means from the start. */
export function parseCursor(value: string | null | undefined): number {
  if (value === null || value === undefined || value === "") return 0;
  // Bounded, so that an adversarial header is a 400 rather than anything worse.
  if (!/^\d{1,15}$/.test(value)) throw invalidParam("cursor must be the sequence number of an event", "cursor");
  return Number(value);
}

export async function openTaskEvents(
  tasks: TaskRunner,
  viewer: Viewer,
  taskId: string,
  after: number,
): Promise<(signal?: AbortSignal) => AsyncIterable<LoggedEvent>> {
  const meta = await tasks.store.meta(taskId);
  // Another end user's task is indistinguishable from none at all.
  if (!meta || meta.appId !== viewer.app.id || meta.endUserId !== viewer.endUser.id) throw notFound("Task Not Found.");
  if (meta.state === "expired") {
    throw new AppError("task_events_expired", 410, `The events of task ${taskId} are no longer kept; fetch the saved message instead.`);
  }
  return (signal) => tasks.store.read(taskId, after, signal);
}
