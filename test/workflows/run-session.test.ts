// The run session on its own, on a real database and task log with the real engine and node kinds (none
// of these graphs needs a model or the network): what a run records, what it tells its readers, and
// that a paused run comes back as the same run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importApp } from "../../src/core/apps/app.service.js";
import type { Viewer } from "../../src/core/auth/passport.service.js";
import { openChatTurn } from "../../src/core/chat/turn.js";
import type { LoggedEvent } from "../../src/core/ports/task-store.js";
import { TaskRunner } from "../../src/core/tasks/task-runner.js";
import type { WorkflowEvent } from "../../src/core/workflows/events.js";
import { RunSession, type FormAnswer, type WorkflowDeps } from "../../src/core/workflows/run-session.js";
import { openDatabase, type Database } from "../../src/db/client.js";
import { MemoryTaskStore } from "../../src/events/memory-task-store.js";
import { safeFetch } from "../../src/providers/http/safe-fetch.js";
import { DocumentTextReader } from "../../src/providers/documents/index.js";
import { OfflineProvider } from "../../src/providers/model/offline.js";
import { createCodeSandbox } from "../../src/providers/sandbox/index.js";
import { fixture } from "../support/server.js";
import { LocalDiskStorage } from "../../src/providers/storage/local-disk.js";
import { fileLinks } from "../../src/core/files/signed-url.js";

const COUNTER_ID = "0f5c5b1e-6a43-4a0e-9d55-2f1b8a6c4e01";
const COUNTING_CHATFLOW = `
app: { name: Counting chatflow, mode: advanced-chat }
kind: app
version: 0.6.0
workflow:
  conversation_variables: [{ id: ${COUNTER_ID}, name: turns, value_type: number, value: 0 }]
  environment_variables: []
  features: {}
  graph:
    nodes:
    - { id: start, data: { type: start, title: Start, variables: [] } }
    - id: count
      data: { type: assigner, title: Count, version: "2", items: [{ variable_selector: [conversation, turns], input_type: constant, operation: "+=", value: 1 }] }
    - { id: answer, data: { type: answer, title: Answer, answer: "Turn {{#conversation.turns#}}: {{#sys.query#}}" } }
    edges:
    - { id: a, source: start, sourceHandle: source, target: count }
    - { id: b, source: count, sourceHandle: source, target: answer }
`;

describe("RunSession", () => {
  let dir: string;
  let database: Database;
  let store: MemoryTaskStore;
  let deps: WorkflowDeps;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-run-session-"));
    database = await openDatabase({ kind: "pglite", dir });
    await database.migrate();
    store = new MemoryTaskStore({ retentionMs: 60_000, tombstoneMs: 60_000 });
    const tasks = new TaskRunner(store);
    deps = {
      db: database.db, tasks, log: pino({ level: "silent" }), models: new OfflineProvider(), sandbox: () => createCodeSandbox(), fetch: safeFetch,
      documents: new DocumentTextReader(), storage: new LocalDiskStorage(dir), links: fileLinks("test-secret", ""),
    };
  });

  afterAll(async () => {
    await deps?.tasks.close();
    await store?.close();
    await database?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** An end user of a newly imported app, and the app's published workflow. */
  async function viewerOf(dsl: string) {
    const { db } = database;
    const imported = await importApp(db, dsl);
    const { site, ...app } = await db.app.findUniqueOrThrow({ where: { id: imported.id }, include: { site: true } });
    const endUser = await db.endUser.create({ data: { appId: app.id, sessionId: "run-session-test" } });
    const workflow = await db.workflow.findUniqueOrThrow({ where: { id: app.workflowId! } });
    return { viewer: { app, site: site!, endUser } satisfies Viewer, workflow };
  }

  /** The events of a task's log, from `after` until the task ends. */
  async function logOf(taskId: string, after = 0): Promise<LoggedEvent<WorkflowEvent>[]> {
    const out: LoggedEvent<WorkflowEvent>[] = [];
    for await (const e of store.read(taskId, after)) out.push(e as LoggedEvent<WorkflowEvent>);
    return out;
  }

  const approval = (reason: string): FormAnswer => ({
    kind: "filled",
    nodeId: "approve",
    nodeTitle: "Approve?",
    renderedContent: `Reason: ${reason}`,
    actionId: "yes",
    actionText: "Approve",
    inputs: { reason, note: "" },
  });

  it("pauses a workflow run with its row, its node executions and the log of its next part", async () => {
    const { viewer, workflow } = await viewerOf(fixture("workflows/workflow-approval-form.yml"));
    const started = await RunSession.forWorkflow(deps, { viewer, workflow, inputs: { request: "a desk" }, files: [] }).start();
    expect((await started.result).status).toBe("paused");

    const log = await logOf(started.taskId);
    expect(log.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(log.map((e) => e.event.type)).toEqual(["workflow_started", "node_started", "node_finished", "node_started", "human_input_required", "workflow_paused"]);
    // Every event carries the run's envelope.
    for (const { event } of log) expect(event).toMatchObject({ taskId: started.taskId, runId: started.runId, workflowId: workflow.id, mode: "workflow" });
    expect(log[0].event).toMatchObject({ reason: "initial", inputs: { request: "a desk", "sys.workflow_run_id": started.runId } });

    const run = await database.db.workflowRun.findUniqueOrThrow({ where: { id: started.runId }, include: { nodeExecutions: true, pauses: true } });
    expect(run).toMatchObject({ status: "paused", type: "workflow", inputs: { request: "a desk" }, createdBy: viewer.endUser.id });
    expect(run.nodeExecutions.map((n) => [n.index, n.nodeId])).toEqual([[1, "start"]]);
    expect(run.pauses).toHaveLength(1);
    // The next part writes to a log of its own, open already so that readers can wait on it.
    expect(run.taskId).not.toBe(started.taskId);
    expect(await store.meta(run.taskId!)).toMatchObject({ state: "running", appId: viewer.app.id, endUserId: viewer.endUser.id });
  });

  it("resumes a paused run as the same run: same row, node indexes going on, events in the log the pause opened", async () => {
    const { viewer, workflow } = await viewerOf(fixture("workflows/workflow-approval-form.yml"));
    const first = await RunSession.forWorkflow(deps, { viewer, workflow, inputs: { request: "a chair" }, files: [] }).start();
    await first.result;
    const paused = await database.db.workflowRun.findUniqueOrThrow({ where: { id: first.runId } });
    const waiting = logOf(paused.taskId!); // a reader that opened the next part's log before the answer came

    const session = await RunSession.resume(deps, first.runId, approval("needed"));
    expect(session?.runId).toBe(first.runId);
    const second = await session!.start();
    expect(second).toMatchObject({ runId: first.runId, taskId: paused.taskId });
    expect(await second.result).toMatchObject({ status: "succeeded", outputs: { decision: "yes", reason: "needed" } });

    const log = await waiting;
    expect(log.map((e) => e.event.type)).toEqual(["workflow_started", "human_input_form_filled", "node_started", "node_finished", "node_started", "node_finished", "workflow_finished"]);
    expect(log.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const { event } of log) expect(event).toMatchObject({ taskId: paused.taskId, runId: first.runId });
    expect(log[0].event).toMatchObject({ reason: "resumption", inputs: { request: "a chair", "sys.workflow_run_id": first.runId } });
    const finished = log.at(-1)!.event as Extract<WorkflowEvent, { type: "workflow_finished" }>;
    expect(finished.runCreatedAt).toEqual(paused.createdAt);

    const run = await database.db.workflowRun.findUniqueOrThrow({ where: { id: first.runId }, include: { nodeExecutions: { orderBy: { index: "asc" } } } });
    expect(run).toMatchObject({ status: "succeeded", taskId: paused.taskId, outputs: { decision: "yes", reason: "needed" } });
    // Indexes go on from where the pause left them (2 was the form's waiting, unrecorded, first attempt).
    expect(run.nodeExecutions.map((n) => [n.index, n.nodeId])).toEqual([
      [1, "start"],
      [3, "approve"],
      [4, "approved"],
    ]);
    // Both parts' time is the run's.
    expect(run.elapsedTime).toBeGreaterThan(paused.elapsedTime);
  });

  it("takes a paused run back once: a second resume, or one of a run that is not paused, gets nothing", async () => {
    const { viewer, workflow } = await viewerOf(fixture("workflows/workflow-approval-form.yml"));
    const first = await RunSession.forWorkflow(deps, { viewer, workflow, inputs: { request: "a lamp" }, files: [] }).start();
    await first.result;
    const timeout: FormAnswer = { kind: "timeout", nodeId: "approve", nodeTitle: "Approve?", expirationTime: new Date() };
    const [a, b] = await Promise.all([RunSession.resume(deps, first.runId, timeout), RunSession.resume(deps, first.runId, approval("late"))]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    const resumed = await (a ?? b)!.start();
    await resumed.result;
    expect(await RunSession.resume(deps, first.runId, timeout)).toBeNull();
    expect(await RunSession.resume(deps, "00000000-0000-4000-8000-000000000000", timeout)).toBeNull();
  });

  it("answers a chatflow turn on its message, message_end before workflow_finished, and keeps the conversation variables", async () => {
    const { viewer, workflow } = await viewerOf(COUNTING_CHATFLOW);
    const turn = async (query: string, conversationId?: string) => {
      const opened = await openChatTurn(deps, viewer, { query, inputs: {}, conversationId }, { form: [], introduction: null, modelId: null });
      await opened.stored;
      const started = await (await RunSession.forChatflowTurn(deps, { viewer, workflow, turn: opened, files: [] })).start();
      expect((await started.result).answer).toBe(`Turn ${conversationId ? 2 : 1}: ${query}`);
      return { opened, started, log: await logOf(started.taskId) };
    };

    const first = await turn("hello");
    expect(first.log.map((e) => e.event.type).slice(-3)).toEqual(["node_finished", "message_end", "workflow_finished"]);
    for (const { event } of first.log) {
      expect(event).toMatchObject({ mode: "advanced-chat", messageId: first.opened.messageId, conversationId: first.opened.conversationId, createdAt: first.opened.createdAt });
    }
    const message = await database.db.message.findUniqueOrThrow({ where: { id: first.opened.messageId } });
    expect(message).toMatchObject({ answer: "Turn 1: hello", status: "normal", workflowRunId: first.started.runId });
    const run = await database.db.workflowRun.findUniqueOrThrow({ where: { id: first.started.runId } });
    expect(run).toMatchObject({ type: "chat", messageId: first.opened.messageId, conversationId: first.opened.conversationId });

    // The next turn of the conversation starts from the variables this one ended with.
    const second = await turn("again", first.opened.conversationId);
    expect(second.log.find((e) => e.event.type === "workflow_started")!.event).toMatchObject({ inputs: { "sys.query": "again", "sys.dialogue_count": 2 } });
    const stored = await database.db.workflowConversationVariable.findUniqueOrThrow({
      where: { id_conversationId: { id: COUNTER_ID, conversationId: first.opened.conversationId } },
    });
    expect(stored.data).toMatchObject({ name: "turns", value: 2 });
  });
});
