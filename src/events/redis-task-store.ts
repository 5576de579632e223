// The task store on Redis, for several instances on one database: each task's events go to a Redis
// stream (replay) and a pub/sub channel (live); stop requests go to one channel every instance hears.
//
// Redis may blip. Writes go through one ordered buffer (bounded in bytes) that a single writer
// pipelines to Redis, retrying a batch until Redis takes it, so a restart costs no event and no end
// marker. Readers take live events from pub/sub, but re-read the stream and the task's state whenever
// they may have missed something (a gap, a reconnect, a quiet spell), so a lost publish never leaves
// one waiting; a reader that cannot reach Redis for `outageLimitMs` ends with TaskLogUnavailable.
import { Redis } from "ioredis";
import type { LoggedEvent, RetentionOptions, TaskMeta, TaskStore } from "../core/ports/task-store.js";
import { aborted, TaskLogUnavailable } from "../core/ports/task-store.js";
import { eventFromJson, eventToJson } from "./event-json.js";

const PREFIX = "appgraph:task:";
const STOP_CHANNEL = "appgraph:stop";
/** A running task's keys outlive a crashed instance by this much at most (takeover ends them sooner). */
const RUNNING_TTL_S = 6 * 3600;
/** Ops per pipeline: big enough to drain a backlog fast, small enough to keep one reply modest. */
const BATCH = 500;
/** Error Redis answers when a retried batch re-adds an event it already has: harmless. */
const DUPLICATE_ID = "equal or smaller than the target stream top item";

const metaKey = (id: string) => `${PREFIX}${id}:meta`;
const logKey = (id: string) => `${PREFIX}${id}:log`;
const liveChannel = (id: string) => `${PREFIX}${id}:live`;

type LiveMessage = { seq: number; event?: unknown; end?: true };

type Write =
  | { type: "start"; taskId: string; meta: TaskMeta; bytes: number; written?: () => void; again?: true }
  | { type: "event"; taskId: string; seq: number; json: string; bytes: number }
  | { type: "finish"; taskId: string; lastSeq: number; lost: boolean; bytes: number; meta?: TaskMeta };

export type RedisTaskStoreOptions = RetentionOptions & {
  /** Bytes of events kept while Redis is unreachable; beyond it, the task that overflows loses its log. */
  maxBufferedBytes?: number;
  /** How long a reader keeps trying to reach Redis before it ends with TaskLogUnavailable. */
  outageLimitMs?: number;
  /** How long a reader waits without news before it re-reads the task's state. */
  resyncMs?: number;
};

export class RedisTaskStore implements TaskStore {
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly listeners = new Map<string, Set<(m: LiveMessage | "resync") => void>>();
  private readonly subscribing = new Map<string, Promise<unknown>>();
  private readonly stopHandlers: ((taskId: string) => void)[] = [];
  private readonly ready: Promise<unknown>;
  private readonly maxBufferedBytes: number;
  private readonly outageLimitMs: number;
  private readonly resyncMs: number;

  /** Writes not yet taken by Redis, in call order; `inFlight` is the batch being written now. */
  private queue: Write[] = [];
  private inFlight: Write[] = [];
  private bufferedBytes = 0;
  /** Writes per task not yet taken by Redis: a reader here does not take the task's absence there for its end. */
  private readonly pending = new Map<string, number>();
  /** Tasks this instance runs, started and not finished: written again if Redis comes back empty. */
  private readonly running = new Map<string, TaskMeta>();
  /** Tasks whose events overflowed the buffer: their later events are dropped, their end says so. */
  private readonly lost = new Set<string>();
  private writer: Promise<void> | null = null;
  /** Appends waiting for the buffer to empty to a quarter (or for Redis to go away). */
  private slowed: (() => void)[] = [];
  private closing = false;

  constructor(url: string, private readonly options: RedisTaskStoreOptions) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.outageLimitMs = options.outageLimitMs ?? 60_000;
    this.resyncMs = options.resyncMs ?? 5_000;
    // Commands fail soon while Redis is away (the writer and readers retry on their own terms), and a
    // Redis that hangs rather than drops is noticed too.
    const connection = { maxRetriesPerRequest: 2, commandTimeout: 5_000, lazyConnect: false } as const;
    this.cmd = new Redis(url, connection);
    this.sub = new Redis(url, { ...connection, commandTimeout: undefined, maxRetriesPerRequest: null });
    // ioredis logs unhandled connection errors to stderr; a blip is expected here and handled.
    this.cmd.on("error", () => {});
    this.cmd.on("close", () => this.release());
    this.sub.on("error", () => {});
    this.sub.on("message", (channel: string, text: string) => {
      if (channel === STOP_CHANNEL) {
        for (const handler of this.stopHandlers) handler(text);
        return;
      }
      const set = this.listeners.get(channel);
      if (!set) return;
      const message = eventFromJson(text) as LiveMessage;
      for (const listener of set) listener(message);
    });
    // Publishes made while the subscriber was away are gone: every reader re-reads what it missed (and
    // on losing the connection, starts counting how long Redis is away).
    const resyncAll = () => {
      for (const set of this.listeners.values()) for (const listener of set) listener("resync");
    };
    this.sub.on("ready", resyncAll);
    this.sub.on("close", resyncAll);
    this.ready = this.sub.subscribe(STOP_CHANNEL);
    // A Redis that restarted without persistence has forgotten the running tasks: say them again first.
    this.cmd.on("ready", () => {
      for (const meta of this.running.values()) this.enqueue({ type: "start", taskId: meta.taskId, meta, bytes: 256, again: true }, "first");
    });
  }

  async start(meta: TaskMeta) {
    await this.ready;
    this.running.set(meta.taskId, meta);
    // Readers elsewhere look the task up as soon as its id is out: wait for Redis to have it, unless
    // Redis is away (then the task starts anyway and its log follows when Redis is back).
    await new Promise<void>((resolve) => {
      this.enqueue({ type: "start", taskId: meta.taskId, meta, bytes: 256, written: resolve });
      if (this.cmd.status !== "ready") resolve();
    });
  }

  async append(taskId: string, seq: number, event: unknown) {
    if (this.lost.has(taskId)) return;
    const json = eventToJson(event);
    const bytes = json.length * 2 + 64;
    if (this.bufferedBytes + bytes > this.maxBufferedBytes) {
      // Memory stays bounded: this task gives up its log (its readers are told), the others keep theirs.
      this.lost.add(taskId);
      this.queue = this.queue.filter((w) => {
        if (w.taskId !== taskId || w.type !== "event") return true;
        this.bufferedBytes -= w.bytes;
        this.pending.set(taskId, this.pending.get(taskId)! - 1);
        return false;
      });
      return;
    }
    this.enqueue({ type: "event", taskId, seq, json, bytes });
    // Backpressure while Redis keeps up but slower than the tasks write: they wait (the model's stream
    // waits in its socket). While Redis is away nobody waits; the bound above keeps memory in check.
    if (this.bufferedBytes > this.maxBufferedBytes / 2 && this.cmd.status === "ready") {
      await new Promise<void>((resolve) => this.slowed.push(resolve));
    }
  }

  async finish(taskId: string, lastSeq: number) {
    // Its owner fields go with its end: a Redis that restarted empty still knows whose task it was.
    const meta = this.running.get(taskId);
    this.running.delete(taskId);
    const lost = this.lost.delete(taskId);
    this.enqueue({ type: "finish", taskId, lastSeq, lost, bytes: 128, meta });
  }

  async lastSeq(taskId: string) {
    const [last] = await this.cmd.xrevrange(logKey(taskId), "+", "-", "COUNT", 1);
    return last ? Number(last[0].split("-")[0]) : 0;
  }

  async meta(taskId: string) {
    const [[, meta], [, logExists]] = (await this.cmd.multi().hgetall(metaKey(taskId)).exists(logKey(taskId)).exec()) as [
      [unknown, Record<string, string>],
      [unknown, number],
    ];
    if (!meta || !meta.taskId) return null;
    const state = meta.state === "running" ? "running" : logExists || meta.lastSeq === "0" ? "finished" : "expired";
    return { taskId: meta.taskId, appId: meta.appId, endUserId: meta.endUserId, kind: meta.kind, state } as const;
  }

  async *read(taskId: string, after: number, signal?: AbortSignal): AsyncIterable<LoggedEvent> {
    const live: (LiveMessage | "resync")[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = this.listen(liveChannel(taskId), (m) => {
      live.push(m);
      wake?.();
    });
    const stop = aborted(signal);
    let last = after;
    let unreachableSince: number | null = null;
    let missingSince: number | null = null;
    /** Re-read soon: Redis is away, or has not yet got this instance's writes for the task. */
    let soon = false;
    let resync = true;
    try {
      // A reader subscribes before it first reads the stream, so nothing falls between replay and live.
      let subscribeTimer: NodeJS.Timeout | undefined;
      await Promise.race([unsubscribe.subscribed, stop, new Promise((resolve) => (subscribeTimer = setTimeout(resolve, 1_000)))]);
      clearTimeout(subscribeTimer);
      while (!signal?.aborted) {
        if (resync) {
          let synced: Awaited<ReturnType<RedisTaskStore["sync"]>> | null;
          try {
            synced = await this.sync(taskId, last);
            unreachableSince = null;
          } catch {
            unreachableSince ??= Date.now();
            if (Date.now() - unreachableSince >= this.outageLimitMs) throw new TaskLogUnavailable();
            synced = null;
          }
          if (synced) {
            for (const e of synced.events) {
              if (e.seq <= last) continue;
              // A hole: events lost with a Redis that restarted empty. Skipping it would pass the rest off as whole.
              if (e.seq !== last + 1) throw new TaskLogUnavailable();
              yield ((last = e.seq), e);
            }
            const { state } = synced;
            if (!state) {
              // Not in Redis: never was (or long expired), or not yet (a start still buffered here), or
              // lost to a Redis restart until its instance writes it again. Only the first ends a reader now.
              const here = this.running.has(taskId) || this.pending.has(taskId);
              if (last === 0 && !here) return;
              soon = here;
              missingSince ??= Date.now();
              if (Date.now() - missingSince >= this.outageLimitMs) throw new TaskLogUnavailable();
            } else {
              missingSince = null;
              soon = false;
              // Finished: what the stream holds is all there will be. Short of the end (events dropped in an
              // outage, or lost with a Redis that restarted empty), the reader is told rather than kept.
              if (state.finished) {
                if (state.lost || state.lastSeq > last) throw new TaskLogUnavailable();
                return;
              }
            }
            resync = false;
          }
        }
        while (live.length && !resync) {
          const m = live.shift()!;
          if (m === "resync" || m.end || m.seq > last + 1) resync = true;
          else if (m.seq === last + 1) yield { seq: (last = m.seq), event: m.event };
        }
        if (resync && unreachableSince === null) continue;
        // Quiet: wait for news, but not forever (a publish lost in a blip, a task taken over elsewhere).
        let timer: NodeJS.Timeout | undefined;
        const quiet = await Promise.race([
          new Promise<false>((resolve) => (wake = () => resolve(false))),
          new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), unreachableSince === null && !soon ? this.resyncMs : 250))),
          stop.then(() => false),
        ]);
        clearTimeout(timer);
        wake = undefined;
        if (quiet) resync = true;
      }
    } finally {
      unsubscribe();
    }
  }

  async requestStop(taskId: string) {
    await this.cmd.publish(STOP_CHANNEL, taskId);
  }

  onStopRequest(handler: (taskId: string) => void) {
    this.stopHandlers.push(handler);
  }

  async close(deadlineMs = 5_000) {
    this.closing = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.writer ?? Promise.resolve(), new Promise((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
    clearTimeout(timer);
    this.sub.disconnect();
    this.cmd.disconnect();
  }

  /** Bytes waiting for Redis (for tests and metrics). */
  get buffered(): number {
    return this.bufferedBytes;
  }

  /** Queue a write, last (or `first`: ahead of every write not yet taken); only the writer takes them. */
  private enqueue(write: Write, at: "last" | "first" = "last") {
    if (at === "first") this.queue.unshift(write);
    else this.queue.push(write);
    this.bufferedBytes += write.bytes;
    this.pending.set(write.taskId, (this.pending.get(write.taskId) ?? 0) + 1);
    this.kick();
  }

  private release() {
    const waiting = this.slowed;
    this.slowed = [];
    for (const resolve of waiting) resolve();
  }

  private kick() {
    if (this.writer) return;
    this.writer = this.drain().finally(() => {
      this.writer = null;
      if (this.queue.length) this.kick(); // written after the drain saw an empty queue
    });
  }

  /** The single writer: batches in call order, each retried until Redis takes it. */
  private async drain() {
    // Let the rest of this tick's writes join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queue.length) {
      this.inFlight = this.queue.splice(0, BATCH);
      while (!(await this.write(this.inFlight))) {
        if (this.closing && this.cmd.status === "end") return;
        await this.reconnected();
      }
      for (const w of this.inFlight) {
        this.bufferedBytes -= w.bytes;
        const left = this.pending.get(w.taskId)! - 1;
        if (left > 0) this.pending.set(w.taskId, left);
        else this.pending.delete(w.taskId);
        if (w.type === "start") w.written?.();
      }
      if (this.bufferedBytes <= this.maxBufferedBytes / 4) this.release();
      this.inFlight = [];
    }
  }

  private async write(batch: Write[]): Promise<boolean> {
    const pipeline = this.cmd.pipeline();
    const retention = Math.ceil(this.options.retentionMs / 1000);
    for (const w of batch) {
      if (w.type === "start" && w.again) {
        // Only into a Redis that forgot the task: field by field if absent, so a state written since
        // (the task finished, here or on another instance) is never turned back into running.
        for (const [field, value] of Object.entries({ ...w.meta, state: "running" })) pipeline.hsetnx(metaKey(w.taskId), field, value);
        pipeline.expire(metaKey(w.taskId), RUNNING_TTL_S);
      } else if (w.type === "start") {
        pipeline.hset(metaKey(w.taskId), { ...w.meta, state: "running" }).expire(metaKey(w.taskId), RUNNING_TTL_S);
      } else if (w.type === "event") {
        pipeline
          .xadd(logKey(w.taskId), `${w.seq}-1`, "e", w.json)
          .expire(logKey(w.taskId), RUNNING_TTL_S)
          .publish(liveChannel(w.taskId), `{"seq":${w.seq},"event":${w.json}}`);
      } else {
        pipeline
          .hset(metaKey(w.taskId), { ...w.meta, state: "finished", lastSeq: String(w.lastSeq), lost: w.lost ? "1" : "0" })
          .expire(metaKey(w.taskId), retention + Math.ceil(this.options.tombstoneMs / 1000))
          .expire(logKey(w.taskId), retention)
          .publish(liveChannel(w.taskId), JSON.stringify({ seq: w.lastSeq, end: true }));
      }
    }
    try {
      const results = (await pipeline.exec()) ?? [];
      return results.every(([err]) => !err || String((err as Error).message).includes(DUPLICATE_ID));
    } catch {
      return false;
    }
  }

  /** Resolves when the command connection is back, or after a second (a hung Redis never says). */
  private reconnected(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.cmd.off("ready", done);
        resolve();
      };
      const timer = setTimeout(done, 1_000);
      this.cmd.once("ready", done);
    });
  }

  /** Events after `last` and whether the task has finished, in one round trip. */
  private async sync(taskId: string, last: number) {
    const [[e1, entries], [e2, state]] = (await this.cmd
      .multi()
      .xrange(logKey(taskId), `${last + 1}-0`, "+")
      .hmget(metaKey(taskId), "state", "lastSeq", "lost")
      .exec()) as [[Error | null, [string, string[]][]], [Error | null, (string | null)[]]];
    if (e1 || e2) throw e1 ?? e2;
    const events = entries.map(([id, fields]) => ({ seq: Number(id.split("-")[0]), event: eventFromJson(fields[1]) }));
    const [status, lastSeq, lost] = state;
    return {
      events,
      state: status === null ? null : { finished: status !== "running", lastSeq: Number(lastSeq ?? 0), lost: lost === "1" },
    };
  }

  /** Share one subscriber connection: SUBSCRIBE on the first listener of a channel, UNSUBSCRIBE after the last. */
  private listen(channel: string, listener: (m: LiveMessage | "resync") => void): (() => void) & { subscribed: Promise<unknown> } {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      this.subscribing.set(channel, this.sub.subscribe(channel).catch(() => {}));
    }
    set.add(listener);
    const unsubscribe = () => {
      set!.delete(listener);
      if (set!.size === 0 && this.listeners.get(channel) === set) {
        this.listeners.delete(channel);
        this.subscribing.delete(channel);
        void this.sub.unsubscribe(channel).catch(() => {});
      }
    };
    return Object.assign(unsubscribe, { subscribed: this.subscribing.get(channel)! });
  }
}
