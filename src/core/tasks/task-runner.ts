// Runs tasks (generations, workflow runs) apart from any connection: a client that goes away does not
// stop one; only an owner's stop request does, on whichever instance it arrives.
import crypto from "node:crypto";
import type { TaskMeta, TaskStore } from "../ports/task-store.js";
import type { TaskLeases } from "./task-leases.js";

/** The reason a task's signal aborts when its owner stops it. */
export class StopRequested extends Error {
  constructor() {
    super("Stopped by user.");
    this.name = "StopRequested";
  }
}

/** The reason a task's signal aborts when its instance shuts down and the drain deadline has passed. */
export class HandingOver extends Error {
  constructor() {
    super("This server is shutting down.");
    this.name = "HandingOver";
  }
}

export type TaskContext<E> = {
  taskId: string;
  /** Aborts when the owner stops the task (reason: StopRequested) or the server shuts down. */
  signal: AbortSignal;
  /** Append an event to the task's log; returns its sequence number. */
  emit(event: E): Promise<number>;
  /**
   * Leave the task, as it stands, to another instance (one that takes it over from its saved state):
   * its log is not finished and its lease stays, so the taking over goes on from there.
   */
  handOver(): void;
};

export type RunningTask = { taskId: string; done: Promise<void> };

/** Who owns a task, and the rows it works on (what an instance taking it over ends or continues). */
export type TaskOwner = Omit<TaskMeta, "taskId"> & { messageId?: string | null; workflowRunId?: string | null };

export class TaskRunner {
  private readonly local = new Map<string, AbortController>();
  private readonly done = new Set<Promise<void>>();

  constructor(
    readonly store: TaskStore,
    /** Absent in unit tests of a single task: nothing records who runs it. */
    readonly leases?: TaskLeases,
  ) {
    store.onStopRequest((taskId) => this.local.get(taskId)?.abort(new StopRequested()));
  }

  /**
   * Start `body` as a task of `owner`; its events are readable from the store as soon as this resolves.
   * `adopted`: a dead instance's task that this one continues, its log going on after `lastSeq` (its
   * lease row is already this instance's).
   */
  async start<E>(
    owner: TaskOwner,
    body: (task: TaskContext<E>) => Promise<void>,
    taskId: string = crypto.randomUUID(),
    adopted?: { lastSeq: number },
  ): Promise<RunningTask> {
    const { messageId = null, workflowRunId = null, ...meta } = owner;
    await this.store.start({ ...meta, taskId });
    // Recorded beside the task, not before it (a crash in the next milliseconds loses only that one), and
    // a tick later: embedded PGlite runs in this thread, and the task's first event should not wait on it.
    const leases = adopted ? undefined : this.leases;
    const leased = leases ? new Promise((resolve) => setImmediate(resolve)).then(() => leases.register({ taskId, ...meta, messageId, workflowRunId })) : Promise.resolve();
    leased.catch(() => {});
    const controller = new AbortController();
    this.local.set(taskId, controller);
    let seq = adopted?.lastSeq ?? 0;
    // The store keeps the order of its calls and never rejects; the task never waits on the log's health.
    const emit = (event: E) => {
      const n = ++seq;
      return this.store.append(taskId, n, event).then(() => n);
    };
    let handedOver = false;
    const handOver = () => (handedOver = true);
    const done = (async () => {
      try {
        await body({ taskId, signal: controller.signal, emit, handOver });
      } finally {
        this.local.delete(taskId);
        if (!handedOver) {
          await this.store.finish(taskId, seq);
          await leased.then(() => this.leases?.release(taskId)).catch(() => {});
        }
      }
    })();
    this.done.add(done);
    void done.finally(() => this.done.delete(done)).catch(() => {});
    return { taskId, done };
  }

  /** Whether this instance runs `taskId` now. */
  runsHere(taskId: string): boolean {
    return this.local.has(taskId);
  }

  /**
   * Stop a task if `caller` owns it. Dify answers success either way, so callers learn nothing about
   * tasks that are not theirs. Returns whether a stop was requested.
   */
  async stop(taskId: string, caller: { appId: string; endUserId: string }): Promise<boolean> {
    const meta = await this.store.meta(taskId);
    if (!meta || meta.state !== "running" || meta.appId !== caller.appId || meta.endUserId !== caller.endUserId) return false;
    const local = this.local.get(taskId);
    if (local) local.abort(new StopRequested());
    else if (await this.leases?.ownerIsDead(taskId)) {
      // Nobody runs it to stop: take it over now. A generation ends as lost (nothing left to stop); a
      // run continues here, and is stopped here.
      await this.leases!.reap();
      const continued = this.local.get(taskId);
      if (!continued) return false;
      continued.abort(new StopRequested());
    } else await this.store.requestStop(taskId);
    return true;
  }

  /**
   * Shutting down: let the local tasks finish for up to `deadlineMs`, then abort the rest with
   * HandingOver (generations save what they have; runs leave their checkpoint to another instance).
   */
  async drain(deadlineMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.done]), new Promise((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
    clearTimeout(timer);
    for (const controller of this.local.values()) controller.abort(new HandingOver());
    await Promise.allSettled([...this.done]);
  }

  /** Shut down: stop every local task (each saves what it has) and wait for them. */
  async close(): Promise<void> {
    for (const controller of this.local.values()) controller.abort(new StopRequested());
    await Promise.allSettled([...this.done]);
  }
}
