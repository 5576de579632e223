// What a run leaves in the database: its workflow_runs row, the node executions (kept in memory as
// nodes finish, written with the run's end or pause), and the pause a resumed run picks up again.
import { Prisma, type Workflow, type WorkflowRun } from "../../generated/prisma/client.js";
import type { Viewer } from "../auth/passport.service.js";
import type { Db } from "../ports/database.js";
import type { EngineEvent, EngineState, RunOutcome } from "./engine.js";

type NodeFinished = Extract<EngineEvent, { type: "node_finished" }>;

/** A new run's row, as it is first written. */
export type NewRun = {
  id: string;
  taskId: string;
  viewer: Viewer;
  workflow: Workflow;
  type: "workflow" | "chat";
  inputs: Record<string, unknown>;
  conversationId: string | null;
  messageId: string | null;
  createdAt: Date;
  /** Where it stands before any node ran: an instance that takes it over before the first checkpoint starts here. */
  checkpoint: EngineState;
};

/** A paused run taken back for resuming: its row (app, site and workflow included), whose it is, and where it stood. */
export type ClaimedRun = { run: WorkflowRun & { workflow: Workflow }; viewer: Viewer; state: EngineState };

export class RunRecording {
  private readonly executions: Prisma.WorkflowNodeExecutionCreateManyInput[] = [];
  /** How many of `executions` are written (with a checkpoint). */
  private persisted = 0;
  /** Checkpoint writes, one after another; the latest state wins when several wait. */
  private writes: Promise<void> = Promise.resolve();
  private nextCheckpoint: EngineState | null = null;

  constructor(
    private readonly db: Db,
    private readonly run: { id: string; createdBy: string },
  ) {}

  /**
   * Take a paused run back from its latest pause, once: null when it is not paused, or when another
   * request (on any instance) claimed the pause first. The run is marked running again.
   */
  static async claimPause(db: Db, runId: string): Promise<ClaimedRun | null> {
    const run = await db.workflowRun.findUnique({ where: { id: runId }, include: { app: { include: { site: true } }, workflow: true } });
    if (!run || run.status !== "paused" || !run.taskId) return null;
    const pause = await db.workflowPause.findFirst({ where: { workflowRunId: runId, resumedAt: null }, orderBy: { createdAt: "desc" } });
    if (!pause) return null;
    const { count } = await db.workflowPause.updateMany({ where: { id: pause.id, resumedAt: null }, data: { resumedAt: new Date() } });
    if (count === 0) return null; // someone else resumed it
    const endUser = await db.endUser.findUnique({ where: { id: run.createdBy } });
    const { app: { site, ...app }, ...row } = run;
    if (!endUser || !site) return null;
    await db.workflowRun.update({ where: { id: runId }, data: { status: "running" } });
    return { run: row, viewer: { app, site, endUser }, state: pause.state as unknown as EngineState };
  }

  /**
   * A running run whose instance died, taken back to continue from its last checkpoint: null when it
   * is not running or has none. Claimed already (the lease of its task), so no one else continues it.
   */
  static async loadRunning(db: Db, runId: string): Promise<ClaimedRun | null> {
    const run = await db.workflowRun.findUnique({ where: { id: runId }, include: { app: { include: { site: true } }, workflow: true } });
    if (!run || run.status !== "running" || !run.taskId || !run.checkpoint) return null;
    const endUser = await db.endUser.findUnique({ where: { id: run.createdBy } });
    const { app: { site, ...app }, ...row } = run;
    if (!endUser || !site) return null;
    return { run: row, viewer: { app, site, endUser }, state: run.checkpoint as unknown as EngineState };
  }

  /** Write a new run's row. */
  async create(run: NewRun): Promise<void> {
    await this.db.workflowRun.create({
      data: {
        id: run.id,
        taskId: run.taskId,
        appId: run.viewer.app.id,
        workflowId: run.workflow.id,
        type: run.type,
        version: run.workflow.version,
        // The run points at its workflow, whose rows never change: no copy of the graph per run.
        graph: {},
        inputs: run.inputs as Prisma.InputJsonValue,
        status: "running",
        conversationId: run.conversationId,
        messageId: run.messageId,
        checkpoint: run.checkpoint as unknown as Prisma.InputJsonValue,
        createdBy: run.viewer.endUser.id,
        createdAt: run.createdAt,
      },
    });
  }

  /** Keep a finished node's execution, to be written with the run's end or pause. */
  nodeFinished(event: NodeFinished): void {
    const e = event.execution;
    this.executions.push({
      id: e.id,
      workflowRunId: this.run.id,
      index: e.index,
      predecessorNodeId: e.predecessorId,
      nodeExecutionId: e.id,
      nodeId: e.node.id,
      nodeType: e.node.type,
      title: e.node.title,
      inputs: (event.result?.inputs ?? null) as Prisma.InputJsonValue,
      processData: (event.result?.processData ?? null) as Prisma.InputJsonValue,
      outputs: (event.result?.outputs ?? null) as Prisma.InputJsonValue,
      status: event.status,
      error: event.error,
      elapsedTime: (event.finishedAt.getTime() - e.startedAt.getTime()) / 1000,
      executionMetadata: {
        total_tokens: event.result?.usage?.totalTokens ?? 0,
        ...(e.container ? { container_id: e.container.id, index: e.container.index } : {}),
      },
      createdBy: this.run.createdBy,
      createdAt: e.startedAt,
      finishedAt: event.finishedAt,
    });
  }

  /**
   * Where the run stands after a node finished, with the executions so far: what an instance continues
   * from if this one dies. Written in the background, in order; a failed write only makes a later one count.
   */
  checkpoint(state: EngineState): void {
    this.nextCheckpoint = state;
    this.writes = this.writes.then(async () => {
      const state = this.nextCheckpoint;
      if (!state) return;
      this.nextCheckpoint = null;
      const fresh = this.executions.slice(this.persisted);
      try {
        await this.db.$transaction([
          this.db.workflowNodeExecution.createMany({ data: fresh }),
          this.db.workflowRun.update({ where: { id: this.run.id }, data: { checkpoint: state as unknown as Prisma.InputJsonValue } }),
        ]);
        this.persisted += fresh.length;
      } catch {
        // The next checkpoint (or the run's end) writes these executions.
      }
    });
  }

  /** Resolves when the checkpoints asked for so far are written (or have failed). */
  async settled(): Promise<void> {
    await this.writes;
  }

  /** Executions not yet written, once the checkpoints in flight are done. */
  private async unwritten(): Promise<Prisma.WorkflowNodeExecutionCreateManyInput[]> {
    this.nextCheckpoint = null;
    await this.writes;
    return this.executions.slice(this.persisted);
  }

  /** The run is over: its executions and its end, at once. Elapsed time adds to what earlier parts took. */
  async finish(outcome: RunOutcome, time: { elapsedTime: number; finishedAt: Date }): Promise<void> {
    const executions = await this.unwritten();
    await this.db.$transaction([
      this.db.workflowNodeExecution.createMany({ data: executions }),
      this.db.workflowRun.update({
        where: { id: this.run.id },
        data: {
          status: outcome.status,
          outputs: outcome.outputs as Prisma.InputJsonValue,
          error: outcome.error,
          elapsedTime: { increment: time.elapsedTime },
          totalTokens: outcome.tokens,
          totalSteps: outcome.steps,
          exceptionsCount: outcome.exceptions,
          finishedAt: time.finishedAt,
          checkpoint: Prisma.DbNull,
        },
      }),
    ]);
  }

  /**
   * The run waits for a person: its executions, its state (so that whichever instance gets the answer
   * resumes it) and the task whose log its next part will write to, at once.
   */
  async pause(outcome: RunOutcome, next: { elapsedTime: number; taskId: string }): Promise<void> {
    const executions = await this.unwritten();
    await this.db.$transaction([
      this.db.workflowNodeExecution.createMany({ data: executions }),
      this.db.workflowPause.create({
        data: {
          workflowRunId: this.run.id,
          state: outcome.state as unknown as Prisma.InputJsonValue,
          reason: { reasons: outcome.pauseReasons ?? [] } as Prisma.InputJsonValue,
        },
      }),
      this.db.workflowRun.update({
        where: { id: this.run.id },
        data: {
          status: "paused",
          taskId: next.taskId,
          checkpoint: Prisma.DbNull,
          elapsedTime: { increment: next.elapsedTime },
          totalTokens: outcome.tokens,
          totalSteps: outcome.steps,
          exceptionsCount: outcome.exceptions,
        },
      }),
    ]);
  }
}
