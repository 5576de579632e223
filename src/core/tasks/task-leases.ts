// Which instance runs each task, and whether it is alive. Every instance heartbeats a row of its own;
// every task in progress has a row naming its instance. An instance whose heartbeat is older than the
// lease is dead: the first live instance to notice takes its tasks over (ends a generation with what it
// had, continues a workflow run) within about a lease and a third. Embedded (one process owns the data
// directory) every other instance is dead by definition, so a restart takes over at once.
//
// Written here rather than taken from a job queue: BullMQ needs Redis (the embedded default has none),
// pg-boss has no heartbeat (a job is only found dead when its whole expiry passes, and a chat can stream
// for minutes), graphile-worker finds a dead worker's jobs after four hours. Two tables and one
// transaction do it on PGlite and PostgreSQL alike.
import crypto from "node:crypto";
import type { Logger } from "pino";
import type { Db } from "../ports/database.js";

/** A task whose instance died, now this instance's to end or continue. */
export type OrphanedTask = {
  taskId: string;
  kind: string;
  appId: string;
  endUserId: string;
  messageId: string | null;
  workflowRunId: string | null;
};

/**
 * Ends an orphaned task ("ended": its row goes) or continues it as a task of this instance
 * ("continued": the row stays, now this instance's, until that task ends).
 */
export type TakeOver = (task: OrphanedTask) => Promise<"ended" | "continued">;

export type LeaseOptions = {
  /** An instance silent for this long is dead. Heartbeats and checks run at a third of it. */
  leaseMs: number;
  /** This process alone may use the database (embedded): every other instance row is a dead one. */
  exclusive: boolean;
};

export class TaskLeases {
  readonly instanceId = crypto.randomUUID();
  private readonly handlers = new Map<string, TakeOver>();
  private timer: NodeJS.Timeout | undefined;
  private reaping: Promise<number> | null = null;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly options: LeaseOptions,
  ) {}

  /** Who ends or continues an orphaned task of these kinds. */
  onTakeOver(kinds: string[], handler: TakeOver): void {
    for (const kind of kinds) this.handlers.set(kind, handler);
  }

  /** Announce this instance, take over what dead ones left, then keep both up. */
  async open(): Promise<void> {
    if (this.options.exclusive) await this.db.instance.deleteMany({});
    await this.db.instance.create({ data: { id: this.instanceId } });
    await this.reap();
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.options.leaseMs / 3)));
    this.timer.unref();
  }

  /** A task starts here; resolves once its row is written. */
  async register(task: OrphanedTask): Promise<void> {
    await this.db.runningTask.create({ data: { ...task, instanceId: this.instanceId } });
  }

  /** A task ended here (or was handed on). */
  async release(taskId: string): Promise<void> {
    await this.db.runningTask.deleteMany({ where: { taskId } });
  }

  /** Whether the instance running `taskId` has stopped heartbeating (false when nothing runs it). */
  async ownerIsDead(taskId: string): Promise<boolean> {
    const rows = await this.db.$queryRaw<{ dead: boolean }[]>`
      SELECT (i.id IS NULL OR i.heartbeat_at < now() - make_interval(secs => ${this.options.leaseMs / 1000})) AS dead
      FROM appgraph_running_tasks t LEFT JOIN appgraph_instances i ON i.id = t.instance_id
      WHERE t.task_id = ${taskId}::uuid`;
    return rows[0]?.dead ?? false;
  }

  /** Take over the tasks of dead instances now (also on a timer); resolves to how many. */
  reap(): Promise<number> {
    return (this.reaping ??= this.takeOver().finally(() => (this.reaping = null)));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.reaping;
    await this.db.instance.deleteMany({ where: { id: this.instanceId } }).catch(() => {});
  }

  private async tick() {
    try {
      const beat = await this.db.instance.updateMany({ where: { id: this.instanceId }, data: { heartbeatAt: new Date() } });
      // Declared dead while alive (a stalled event loop): the tasks it ran are being taken over; be alive again.
      if (beat.count === 0) {
        this.log.error({ instanceId: this.instanceId }, "this instance missed its lease; its tasks were taken over");
        await this.db.instance.create({ data: { id: this.instanceId } });
      }
      await this.reap();
    } catch (err) {
      this.log.warn({ err }, "instance heartbeat failed");
    }
  }

  private async takeOver(): Promise<number> {
    // The database's clock decides who is dead: instances need not agree on theirs. Claiming is one
    // UPDATE: two instances reaping at once each get different rows (or none).
    const orphans = await this.db.$transaction(async (tx) => {
      await tx.$executeRaw`DELETE FROM appgraph_instances
        WHERE id <> ${this.instanceId}::uuid AND heartbeat_at < now() - make_interval(secs => ${this.options.leaseMs / 1000})`;
      return tx.$queryRaw<OrphanedTask[]>`UPDATE appgraph_running_tasks SET instance_id = ${this.instanceId}::uuid
        WHERE instance_id NOT IN (SELECT id FROM appgraph_instances)
        RETURNING task_id AS "taskId", kind, app_id AS "appId", end_user_id AS "endUserId",
          message_id AS "messageId", workflow_run_id AS "workflowRunId"`;
    });
    for (const task of orphans) {
      const handler = this.handlers.get(task.kind);
      let outcome: "ended" | "continued" = "ended";
      try {
        if (handler) outcome = await handler(task);
        else this.log.error({ task }, "no one takes over tasks of this kind");
      } catch (err) {
        this.log.error({ err, task }, "taking over a task failed");
      }
      if (outcome === "ended") await this.release(task.taskId);
    }
    if (orphans.length) this.log.info({ count: orphans.length }, "took over the tasks of a dead instance");
    return orphans.length;
  }
}
