// The in-process task store: the default, when one instance serves the database.
import type { LoggedEvent, RetentionOptions, TaskMeta, TaskState, TaskStore } from "../core/ports/task-store.js";
import { aborted } from "../core/ports/task-store.js";

type Entry = {
  meta: TaskMeta;
  state: TaskState;
  events: LoggedEvent[];
  /** Woken on every append and on finish. */
  waiters: Set<() => void>;
};

export class MemoryTaskStore implements TaskStore {
  private tasks = new Map<string, Entry>();
  private stopHandlers: ((taskId: string) => void)[] = [];
  private timers = new Set<NodeJS.Timeout>();

  constructor(private readonly retention: RetentionOptions) {}

  async start(meta: TaskMeta) {
    // A log opened ahead of its task (a paused run's next part) keeps the readers already waiting on it.
    if (this.tasks.get(meta.taskId)?.state === "running") return;
    this.tasks.set(meta.taskId, { meta, state: "running", events: [], waiters: new Set() });
  }

  async append(taskId: string, seq: number, event: unknown) {
    const entry = this.tasks.get(taskId);
    if (!entry || entry.state !== "running") return;
    entry.events.push({ seq, event });
    this.wake(entry);
  }

  async finish(taskId: string) {
    const entry = this.tasks.get(taskId);
    if (!entry || entry.state !== "running") return;
    entry.state = "finished";
    this.wake(entry);
    this.later(this.retention.retentionMs, () => {
      entry.state = "expired";
      entry.events = [];
      this.later(this.retention.tombstoneMs, () => this.tasks.delete(taskId));
    });
  }

  async lastSeq(taskId: string) {
    return this.tasks.get(taskId)?.events.at(-1)?.seq ?? 0;
  }

  async meta(taskId: string) {
    const entry = this.tasks.get(taskId);
    return entry ? { ...entry.meta, state: entry.state } : null;
  }

  async *read(taskId: string, after: number, signal?: AbortSignal): AsyncIterable<LoggedEvent> {
    const entry = this.tasks.get(taskId);
    if (!entry) return;
    const stop = aborted(signal);
    // Sequence numbers have no gaps, so the event after `after` sits at index `after`.
    let next = Math.max(0, after);
    while (!signal?.aborted) {
      while (next < entry.events.length) yield entry.events[next++];
      if (entry.state !== "running") return;
      let wake!: () => void;
      const woken = new Promise<void>((resolve) => (wake = resolve));
      entry.waiters.add(wake);
      await Promise.race([woken, stop]);
      entry.waiters.delete(wake);
    }
  }

  async requestStop(taskId: string) {
    for (const handler of this.stopHandlers) handler(taskId);
  }

  onStopRequest(handler: (taskId: string) => void) {
    this.stopHandlers.push(handler);
  }

  async close() {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private wake(entry: Entry) {
    for (const w of entry.waiters) w();
    entry.waiters.clear();
  }

  private later(ms: number, fn: () => void) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }
}
