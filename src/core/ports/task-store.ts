// The ordered, replayable event log of every running task (a generation or a workflow run), and the
// stop channel to the instance that runs it. In-process by default; Redis when instances share a database.

/** Who may read and stop a task. */
export type TaskMeta = {
  taskId: string;
  appId: string;
  endUserId: string;
  /** What produced it: "chat", "completion", "workflow", ... */
  kind: string;
};

export type TaskState = "running" | "finished" | "expired";

export type LoggedEvent<E = unknown> = { seq: number; event: E };

/**
 * A reader could not get a task's events: the store was unreachable for longer than it waits, or some
 * events were dropped while it was (see `append`). The task itself ran on; its result is saved.
 */
export class TaskLogUnavailable extends Error {
  readonly code = "events_unavailable";
  constructor(message = "The events of this task could not be delivered: the event store was unavailable. Fetch the saved message or run instead.") {
    super(message);
    this.name = "TaskLogUnavailable";
  }
}

export interface TaskStore {
  /**
   * Open the log of a new task. Writes (start, append, finish) take effect in the order they are
   * called and never reject: a store that cannot reach its backend keeps them, in order and within a
   * bound, until it can; past the bound a task's log ends as lost and its readers get TaskLogUnavailable.
   */
  start(meta: TaskMeta): Promise<void>;
  /** Append an event; sequence numbers start at 1 and have no gaps. Readers get it back as it was (Dates too). */
  append(taskId: string, seq: number, event: unknown): Promise<void>;
  /** Close the log: readers end after the last event; the log is kept for the retention window. */
  finish(taskId: string, lastSeq: number): Promise<void>;
  /** The sequence number of the last event logged so far (0 when none), for an instance taking a task over. */
  lastSeq(taskId: string): Promise<number>;
  /** The task's owner and state; "expired" once its log is gone, null when it never existed (or long ago). */
  meta(taskId: string): Promise<(TaskMeta & { state: TaskState }) | null>;
  /**
   * Events after `after`, replayed and then live, until the task finishes or `signal` aborts; throws
   * TaskLogUnavailable when they cannot be had (never waits forever on a store that is down).
   */
  read(taskId: string, after: number, signal?: AbortSignal): AsyncIterable<LoggedEvent>;
  /** Ask whichever instance runs the task to stop it. */
  requestStop(taskId: string): Promise<void>;
  /** Called on every instance for every stop request. */
  onStopRequest(handler: (taskId: string) => void): void;
  /** Write what is still buffered (waiting up to `deadlineMs` for the backend), then disconnect. */
  close(deadlineMs?: number): Promise<void>;
}

export type RetentionOptions = {
  /** How long a finished task's events can still be replayed. */
  retentionMs: number;
  /** How long after that a resume is told "expired" rather than "not found". */
  tombstoneMs: number;
};

/** Resolves when `signal` aborts; never rejects. */
export function aborted(signal?: AbortSignal): Promise<void> {
  if (!signal) return new Promise(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
