// Resume: a task's events after a cursor, replayed and then live, for its owner only. Beyond Dify,
// which offers this for workflow runs alone.
import type { Viewer } from "../auth/passport.service.js";
import { AppError, invalidParam, notFound } from "../errors.js";
import type { TaskRunner } from "./task-runner.js";
import { TaskLogUnavailable, type LoggedEvent, type TaskStore } from "../ports/task-store.js";

/** What every task's events carry (generations and workflow runs alike): an error event keeps it. */
const ENVELOPE_KEYS = ["taskId", "runId", "workflowId", "mode", "conversationId", "messageId", "createdAt"] as const;

/**
 * A task's events as the store has them; when the store cannot deliver them, one last `error` event
 * (with the envelope of the events before it) says so, so no reader is left waiting or cut off mute.
 */
export async function* readTask(store: TaskStore, taskId: string, after: number, signal?: AbortSignal): AsyncIterable<LoggedEvent> {
  let last: LoggedEvent | null = null;
  try {
    for await (const e of store.read(taskId, after, signal)) yield (last = e);
  } catch (err) {
    if (!(err instanceof TaskLogUnavailable)) throw err;
    // Nothing read yet, so no envelope to give an error event: the surface reports the error itself.
    if (!last) throw new AppError(err.code, 503, err.message);
    const previous = last.event as Record<string, unknown>;
    const envelope = Object.fromEntries(ENVELOPE_KEYS.filter((k) => k in previous).map((k) => [k, previous[k]]));
    yield { seq: last.seq + 1, event: { ...envelope, type: "error", code: err.code, message: err.message, status: 503 } };
  }
}

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
  // Its instance died and no one has noticed yet: take it over now rather than keep the reader waiting.
  if (meta.state === "running" && !tasks.runsHere(taskId) && (await tasks.leases?.ownerIsDead(taskId))) await tasks.leases!.reap();
  if (meta.state === "expired") {
    throw new AppError("task_events_expired", 410, `The events of task ${taskId} are no longer kept; fetch the saved message instead.`);
  }
  return (signal) => readTask(tasks.store, taskId, after, signal);
}

/**
 * End the log of a task whose instance died, from another instance: after the last event it logged,
 * with `event` (an error saying why) when there is one. Its readers end there.
 */
export async function endOrphanedLog(store: TaskStore, taskId: string, event?: unknown): Promise<"ended"> {
  const last = await store.lastSeq(taskId);
  if (event === undefined) await store.finish(taskId, last);
  else {
    await store.append(taskId, last + 1, event);
    await store.finish(taskId, last + 1);
  }
  return "ended";
}
