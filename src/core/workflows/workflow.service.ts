// The end user's workflow use cases: run a workflow app, follow a run you started (after a pause or a
// dropped connection), read it and its node executions, stop it, and open and answer the human-input
// forms runs wait on. Both surfaces call these; the form limits count for both.
import type { WorkflowNodeExecution, WorkflowRun } from "../../generated/prisma/client.js";
import type { Viewer } from "../auth/passport.service.js";
import { requireWorkflowApp } from "../apps/modes.js";
import { AppError } from "../errors.js";
import type { RateLimiterFactory } from "../ports/rate-limiter.js";
import type { LoggedEvent } from "../ports/task-store.js";
import { readTask } from "../tasks/task-events.js";
import type { WorkflowEvent } from "./events.js";
import { formRecord, type FormRecord } from "./human-input.service.js";
import { submitHumanInput } from "./resume-run.service.js";
import { findOwnRun, listNodeExecutions, openRunEvents } from "./run-events.service.js";
import type { WorkflowDeps } from "./run-session.js";
import { startWorkflowRun } from "./run.service.js";
import type { RunOutcome } from "./engine.js";
import type { Client } from "../services.js";

/** A run of a workflow or chatflow, as its starter sees it. */
export type RunRecord = {
  id: string;
  status: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown> | null;
  error: string | null;
  elapsedTime: number;
  totalTokens: number;
  totalSteps: number;
  createdAt: Date;
  finishedAt: Date | null;
};

/** One node's execution in a run. */
export type NodeExecutionRecord = {
  id: string;
  nodeId: string;
  nodeType: string;
  title: string;
  index: number;
  status: string;
  error: string | null;
  elapsedTime: number;
  inputs: Record<string, unknown> | null;
  outputs: Record<string, unknown> | null;
  createdAt: Date;
};

export type RunTask = {
  taskId: string;
  runId: string;
  /** The events from the start, replayed then live, until the run ends or `signal` aborts. */
  events(signal?: AbortSignal): AsyncIterable<LoggedEvent<WorkflowEvent>>;
  result: Promise<RunOutcome>;
};

const runRecord = (r: WorkflowRun): RunRecord => ({
  id: r.id,
  status: r.status,
  inputs: (r.inputs ?? {}) as Record<string, unknown>,
  outputs: (r.outputs ?? null) as Record<string, unknown> | null,
  error: r.error,
  elapsedTime: r.elapsedTime,
  totalTokens: r.totalTokens,
  totalSteps: r.totalSteps,
  createdAt: r.createdAt,
  finishedAt: r.finishedAt,
});

const executionRecord = (n: WorkflowNodeExecution): NodeExecutionRecord => ({
  id: n.id,
  nodeId: n.nodeId,
  nodeType: n.nodeType,
  title: n.title,
  index: n.index,
  status: n.status,
  error: n.error,
  elapsedTime: n.elapsedTime,
  inputs: (n.inputs ?? null) as Record<string, unknown> | null,
  outputs: (n.outputs ?? null) as Record<string, unknown> | null,
  createdAt: n.createdAt,
});

// Dify's WEB_FORM_SUBMIT_RATE_LIMIT: 30 form requests a minute per client address, reads and answers apart.
const FORM_RULE = { points: 30, windowSeconds: 60 };
const formRateLimited = () => new AppError("web_form_rate_limit_exceeded", 429, "Too many requests, please try again later.");

export function workflowService(deps: WorkflowDeps & { rateLimiter: RateLimiterFactory }) {
  const formReads = deps.rateLimiter("form-read", FORM_RULE);
  const formAnswers = deps.rateLimiter("form-answer", FORM_RULE);

  return {
    /** Run the viewer's workflow app with these inputs (and files). */
    async run(viewer: Viewer, request: { inputs?: unknown; files?: unknown }): Promise<RunTask> {
      const started = await startWorkflowRun(deps, viewer, request);
      return {
        ...started,
        events: (signal) => readTask(deps.tasks.store, started.taskId, 0, signal) as AsyncIterable<LoggedEvent<WorkflowEvent>>,
      };
    },

    /** Follow a run you started: after `after` of its current part, or its end when it is over. */
    async follow(viewer: Viewer, runId: string, options: { after: number; snapshot: boolean }) {
      if (options.after < 0) throw new AppError("invalid_param", 400, "after must not be negative", "after");
      return (await openRunEvents(deps, viewer, runId, options)) as (signal?: AbortSignal) => AsyncIterable<LoggedEvent<WorkflowEvent>>;
    },

    /** A run you started, or Dify's 404s. */
    async getRun(viewer: Viewer, runId: string): Promise<RunRecord> {
      return runRecord(await findOwnRun(deps.db, viewer, runId));
    },

    /** A run's node executions in order, a page after the index `after`. */
    async nodeExecutions(viewer: Viewer, runId: string, page: { after: number; first: number }) {
      const first = Math.min(Math.max(page.first, 1), 100);
      const { rows, hasMore } = await listNodeExecutions(deps.db, viewer, runId, { after: Math.max(0, page.after), first });
      return { items: rows.map(executionRecord), hasMore, limit: first };
    },

    /** Stop a run of a workflow app that the viewer started; false when there was none of theirs. */
    async stop(viewer: Viewer, taskId: string): Promise<boolean> {
      requireWorkflowApp(viewer.app);
      return deps.tasks.stop(taskId, { appId: viewer.app.id, endUserId: viewer.endUser.id });
    },

    /** The form behind a token (the token is the credential); limited per client. */
    async form(token: string, client: Client): Promise<FormRecord> {
      if (!(await formReads.consume(client.address))) throw formRateLimited();
      return formRecord(deps.db, token);
    },

    /** Answer a form: the paused run resumes along the chosen action; limited per client. */
    async submitForm(token: string, answer: { action?: unknown; inputs?: unknown }, client: Client): Promise<void> {
      if (!(await formAnswers.consume(client.address))) throw formRateLimited();
      await submitHumanInput(deps, token, answer);
    },
  };
}

export type WorkflowService = ReturnType<typeof workflowService>;
