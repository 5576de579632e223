// The task store on Redis, for several instances on one database: each task's events go to a Redis
// stream (replay) and a pub/sub channel (live); stop requests go to one channel every instance hears.
// A reader subscribes before it reads the stream, so nothing falls between the replay and the live part.
import { Redis } from "ioredis";
import type { LoggedEvent, RetentionOptions, TaskMeta, TaskStore } from "../core/ports/task-store.js";
import { aborted } from "../core/ports/task-store.js";
import { eventFromJson, eventToJson } from "./event-json.js";

const PREFIX = "appgraph:task:";
const STOP_CHANNEL = "appgraph:stop";
/** A running task's keys outlive a crashed instance by this much at most. */
const RUNNING_TTL_S = 6 * 3600;

const metaKey = (id: string) => `${PREFIX}${id}:meta`;
const logKey = (id: string) => `${PREFIX}${id}:log`;
const liveChannel = (id: string) => `${PREFIX}${id}:live`;

type LiveMessage = { seq: number; event?: unknown; end?: true };

export class RedisTaskStore implements TaskStore {
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly listeners = new Map<string, Set<(m: LiveMessage) => void>>();
  private readonly subscribing = new Map<string, Promise<unknown>>();
  private readonly stopHandlers: ((taskId: string) => void)[] = [];
  private readonly ready: Promise<unknown>;

  constructor(url: string, private readonly retention: RetentionOptions) {
    this.cmd = new Redis(url, { maxRetriesPerRequest: 3 });
    this.sub = new Redis(url, { maxRetriesPerRequest: 3 });
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
    this.ready = this.sub.subscribe(STOP_CHANNEL);
  }

  async start(meta: TaskMeta) {
    await this.ready;
    await this.cmd
      .multi()
      .hset(metaKey(meta.taskId), { ...meta, state: "running" })
      .expire(metaKey(meta.taskId), RUNNING_TTL_S)
      .exec();
  }

  async append(taskId: string, seq: number, event: unknown) {
    const json = eventToJson(event);
    await this.cmd
      .multi()
      .xadd(logKey(taskId), `${seq}-1`, "e", json)
      .expire(logKey(taskId), RUNNING_TTL_S)
      .publish(liveChannel(taskId), `{"seq":${seq},"event":${json}}`)
      .exec();
  }

  async finish(taskId: string, lastSeq: number) {
    const retention = Math.ceil(this.retention.retentionMs / 1000);
    await this.cmd
      .multi()
      .hset(metaKey(taskId), { state: "finished", lastSeq: String(lastSeq) })
      .expire(metaKey(taskId), retention + Math.ceil(this.retention.tombstoneMs / 1000))
      .expire(logKey(taskId), retention)
      .publish(liveChannel(taskId), JSON.stringify({ seq: lastSeq, end: true }))
      .exec();
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
    const queue: LiveMessage[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = await this.listen(liveChannel(taskId), (m) => {
      queue.push(m);
      wake?.();
    });
    const stop = aborted(signal);
    try {
      let last = after;
      const replay = async function* (this: RedisTaskStore): AsyncGenerator<LoggedEvent> {
        const entries = await this.cmd.xrange(logKey(taskId), `${last + 1}-0`, "+");
        for (const [id, fields] of entries) {
          const seq = Number(id.split("-")[0]);
          if (seq > last) yield { seq, event: eventFromJson(fields[1]) };
        }
      };
      for await (const e of replay.call(this)) {
        last = e.seq;
        yield e;
      }
      const meta = await this.cmd.hmget(metaKey(taskId), "state", "lastSeq");
      if (meta[0] !== "running" && Number(meta[1] ?? 0) <= last) return;
      if (meta[0] === null) return;
      while (!signal?.aborted) {
        while (queue.length) {
          const m = queue.shift()!;
          if (m.end) {
            // Anything published before the end marker but missed here is still in the stream.
            if (m.seq > last) for await (const e of replay.call(this)) yield ((last = e.seq), e);
            return;
          }
          if (m.seq === last + 1) yield { seq: (last = m.seq), event: m.event };
          else if (m.seq > last + 1) for await (const e of replay.call(this)) yield ((last = e.seq), e);
        }
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), stop]);
        wake = undefined;
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

  async close() {
    this.sub.disconnect();
    this.cmd.disconnect();
  }

  /** Share one subscriber connection: SUBSCRIBE on the first listener of a channel, UNSUBSCRIBE after the last. */
  private async listen(channel: string, listener: (m: LiveMessage) => void): Promise<() => void> {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      this.subscribing.set(channel, this.sub.subscribe(channel));
    }
    set.add(listener);
    await this.subscribing.get(channel);
    return () => {
      set!.delete(listener);
      if (set!.size === 0 && this.listeners.get(channel) === set) {
        this.listeners.delete(channel);
        this.subscribing.delete(channel);
        void this.sub.unsubscribe(channel).catch(() => {});
      }
    };
  }
}
