// Leases on the real database: a dead instance's tasks are taken over once, by one instance, and a stop
// that finds a task's owner dead takes it over at once.
import crypto from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskLeases, type OrphanedTask } from "../../src/core/tasks/task-leases.js";
import { StopRequested, TaskRunner } from "../../src/core/tasks/task-runner.js";
import { MemoryTaskStore } from "../../src/events/memory-task-store.js";
import { openTaskEvents } from "../../src/core/tasks/task-events.js";
import type { Viewer } from "../../src/core/auth/passport.service.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";

const log = pino({ level: "silent" });

describe.each(backends)("task leases on %s", (backend) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(backend);
  });
  afterAll(async () => {
    await s?.close();
  });

  /** An instance that stopped heartbeating an hour ago, with `n` tasks of `kind`. */
  async function deadInstance(n: number, kind: string): Promise<OrphanedTask[]> {
    const id = crypto.randomUUID();
    await s.rt.db.instance.create({ data: { id, heartbeatAt: new Date(Date.now() - 3600_000) } });
    const tasks = Array.from({ length: n }, () => ({
      taskId: crypto.randomUUID(),
      kind,
      appId: crypto.randomUUID(),
      endUserId: crypto.randomUUID(),
      messageId: null,
      workflowRunId: null,
    }));
    await s.rt.db.runningTask.createMany({ data: tasks.map((t) => ({ ...t, instanceId: id })) });
    return tasks;
  }

  it("gives each orphaned task to exactly one of two instances reaping at once", async () => {
    const orphans = await deadInstance(20, "probe");
    const taken: string[] = [];
    const instances = [0, 1].map(() => {
      const leases = new TaskLeases(s.rt.db, log, { leaseMs: 60_000, exclusive: false });
      leases.onTakeOver(["probe"], async (task) => (taken.push(task.taskId), "ended"));
      return leases;
    });
    await Promise.all(instances.map((l) => s.rt.db.instance.create({ data: { id: l.instanceId } })));
    await Promise.all(instances.map((l) => l.reap()));
    expect(taken.sort()).toEqual(orphans.map((t) => t.taskId).sort());
    expect(await s.rt.db.runningTask.count({ where: { taskId: { in: taken } } })).toBe(0);
    await Promise.all(instances.map((l) => l.close()));
  });

  it("a stop for a task whose owner is dead takes it over: a continued one is stopped here", async () => {
    const leases = new TaskLeases(s.rt.db, log, { leaseMs: 60_000, exclusive: false });
    const store = new MemoryTaskStore({ retentionMs: 60_000, tombstoneMs: 60_000 });
    const runner = new TaskRunner(store, leases);
    await s.rt.db.instance.create({ data: { id: leases.instanceId } });
    const [orphan] = await deadInstance(1, "probe-run");
    // The log the dead instance left (shared, as Redis would be).
    await store.start({ taskId: orphan.taskId, appId: orphan.appId, endUserId: orphan.endUserId, kind: "probe-run" });
    let stoppedWith: unknown;
    leases.onTakeOver(["probe-run"], async (task) => {
      // Continue it here as the same task, as a workflow run's takeover does, until it is stopped.
      await runner.start(
        { appId: task.appId, endUserId: task.endUserId, kind: task.kind },
        (t) => new Promise<void>((resolve) => t.signal.addEventListener("abort", () => ((stoppedWith = t.signal.reason), resolve()))),
        task.taskId,
        { lastSeq: 0 },
      );
      return "continued";
    });
    expect(await runner.stop(orphan.taskId, { appId: orphan.appId, endUserId: orphan.endUserId })).toBe(true);
    expect(stoppedWith).toBeInstanceOf(StopRequested);
    await leases.close();
  });

  it("a stop for a generation whose owner is dead ends it as lost and says nothing was stopped", async () => {
    const leases = new TaskLeases(s.rt.db, log, { leaseMs: 60_000, exclusive: false });
    const store = new MemoryTaskStore({ retentionMs: 60_000, tombstoneMs: 60_000 });
    const runner = new TaskRunner(store, leases);
    await s.rt.db.instance.create({ data: { id: leases.instanceId } });
    const [orphan] = await deadInstance(1, "probe-chat");
    // The log the dead instance left (shared, as Redis would be).
    await store.start({ taskId: orphan.taskId, appId: orphan.appId, endUserId: orphan.endUserId, kind: "probe-chat" });
    const ended: string[] = [];
    leases.onTakeOver(["probe-chat"], async (task) => (ended.push(task.taskId), await store.finish(task.taskId), "ended"));
    expect(await runner.stop(orphan.taskId, { appId: orphan.appId, endUserId: orphan.endUserId })).toBe(false);
    expect(ended).toEqual([orphan.taskId]);
    expect((await store.meta(orphan.taskId))?.state).toBe("finished");
    await leases.close();
  });

  it("a resume of a task whose owner is dead takes it over first, so the reader gets its end", async () => {
    const leases = new TaskLeases(s.rt.db, log, { leaseMs: 60_000, exclusive: false });
    const store = new MemoryTaskStore({ retentionMs: 60_000, tombstoneMs: 60_000 });
    const runner = new TaskRunner(store, leases);
    await s.rt.db.instance.create({ data: { id: leases.instanceId } });
    const [orphan] = await deadInstance(1, "probe-chat");
    await store.start({ taskId: orphan.taskId, appId: orphan.appId, endUserId: orphan.endUserId, kind: "probe-chat" });
    await store.append(orphan.taskId, 1, { type: "message" });
    leases.onTakeOver(["probe-chat"], async (task) => {
      await store.append(task.taskId, 2, { type: "error", code: "task_lost" });
      await store.finish(task.taskId);
      return "ended";
    });
    const viewer = { app: { id: orphan.appId }, endUser: { id: orphan.endUserId } } as Viewer;
    const events: unknown[] = [];
    for await (const e of (await openTaskEvents(runner, viewer, orphan.taskId, 0))()) events.push(e.event);
    expect(events).toEqual([{ type: "message" }, { type: "error", code: "task_lost" }]);
    await leases.close();
  });
});
