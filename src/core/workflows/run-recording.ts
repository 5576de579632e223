// What a run leaves in the database: its workflow_runs row, the node executions (kept in memory as
// nodes finish, written with the run's end or pause), and the pause a resumed run picks up again.
import type { Prisma, Workflow, WorkflowRun } from "../../generated/prisma/client.js";
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
};

/** A paused run taken back for resuming: its row (app, site and workflow included), whose it is, and where it stood. */
export type ClaimedRun = { run: WorkflowRun & { workflow: Workflow }; viewer: Viewer; state: EngineState };

export class RunRecording {
  private readonly executions: Prisma.WorkflowNodeExecutionCreateManyInput[] = [];

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

  /** The run is over: its executions and its end, at once. Elapsed time adds to what earlier parts took. */
  async finish(outcome: RunOutcome, time: { elapsedTime: number; finishedAt: Date }): Promise<void> {
    await this.db.$transaction([
      this.db.workflowNodeExecution.createMany({ data: this.executions }),
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
        },
      }),
    ]);
  }

  /**
   * The run waits for a person: its executions, its state (so that whichever instance gets the answer
   * resumes it) and the task whose log its next part will write to, at once.
   */
  async pause(outcome: RunOutcome, next: { elapsedTime: number; taskId: string }): Promise<void> {
    await this.db.$transaction([
      this.db.workflowNodeExecution.createMany({ data: this.executions }),
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
          elapsedTime: { increment: next.elapsedTime },
          totalTokens: outcome.tokens,
          totalSteps: outcome.steps,
          exceptionsCount: outcome.exceptions,
        },
      }),
    ]);
  }
}
