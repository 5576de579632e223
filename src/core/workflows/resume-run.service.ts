// Resuming a paused run, on whichever instance the form's answer (or its timeout) arrives: the state
// comes from the database, the events go to the task log the pause opened, so readers that waited
// there (on any instance) see the run go on.
import type { Viewer } from "../auth/passport.service.js";
import { finishTurn } from "./chatflow.service.js";
import { threadOf } from "../chat/turn.js";
import type { EngineState } from "./engine.js";
import { WorkflowGraph } from "./graph.js";
import { execute, type Resumption, type RunPlan, type WorkflowDeps } from "./run.service.js";
import type { WorkflowEvent } from "./events.js";
import { checkSubmission, fillFormOutputs, markSubmitted, openForm } from "./human-input.service.js";


/** Resume `runId` if it is still paused; false when another request resumed it first. */
export async function resumeRun(deps: WorkflowDeps, runId: string, how: Omit<Resumption, "state">): Promise<boolean> {
  const { db } = deps;
  const run = await db.workflowRun.findUnique({ where: { id: runId }, include: { app: { include: { site: true } }, workflow: true } });
  if (!run || run.status !== "paused" || !run.taskId) return false;
  const pause = await db.workflowPause.findFirst({ where: { workflowRunId: runId, resumedAt: null }, orderBy: { createdAt: "desc" } });
  if (!pause) return false;
  const { count } = await db.workflowPause.updateMany({ where: { id: pause.id, resumedAt: null }, data: { resumedAt: new Date() } });
  if (count === 0) return false; // someone else resumed it
  const endUser = await db.endUser.findUnique({ where: { id: run.createdBy } });
  if (!endUser || !run.app.site) return false;
  await db.workflowRun.update({ where: { id: runId }, data: { status: "running" } });
  const { site, ...app } = run.app;
  const viewer: Viewer = { app, site, endUser };
  const state = pause.state as unknown as EngineState;
  const chatflow = run.type === "chat";
  const message = chatflow && run.messageId ? await db.message.findUnique({ where: { id: run.messageId } }) : null;
  // A chatflow's LLM memory after the pause: the thread before the message being answered.
  const history = message?.parentMessageId ? (await threadOf(db, viewer, message.conversationId, message.parentMessageId)).history : [];
  const plan: RunPlan = {
    viewer,
    workflow: run.workflow,
    inputs: run.inputs as Record<string, unknown>,
    sys: (state.pool.sys ?? {}) as Record<string, unknown>,
    history,
    envelope: {
      workflowId: run.workflowId,
      mode: chatflow ? "advanced-chat" : "workflow",
      conversationId: run.conversationId,
      messageId: run.messageId,
      createdAt: message?.createdAt ?? run.createdAt,
    },
    onFinished:
      chatflow && run.messageId && run.conversationId
        ? finishTurn(deps, app.id, run.messageId, run.conversationId, run.workflow.conversationVariables)
        : undefined,
  };
  const graph = WorkflowGraph.fromDsl(run.workflow.graph);
  await deps.tasks.start<WorkflowEvent>(
    { appId: app.id, endUserId: endUser.id, kind: plan.envelope.mode },
    async (task) => {
      await execute(deps, plan, graph, graph.startOf(null).id, runId, run.createdAt, task, { ...how, state }).catch((err) =>
        deps.log.warn({ err, runId }, "resumed run failed"),
      );
    },
    run.taskId,
  );
  return true;
}

/** The forms whose node timeout passed: mark them and send their runs down the timeout branch. */
export async function resumeTimedOutForms(deps: WorkflowDeps): Promise<number> {
  const { timedOutForms, markTimedOut } = await import("./human-input.service.js");
  let resumed = 0;
  for (const form of await timedOutForms(deps.db)) {
    if (!(await markTimedOut(deps.db, form.id))) continue;
    const def = form.formDefinition as { node_title?: string };
    if (
      await resumeRun(deps, form.workflowRunId, {
        filled: null,
        timedOut: { nodeId: form.nodeId, nodeTitle: def.node_title ?? form.nodeId, expirationTime: form.expirationTime },
      })
    )
      resumed++;
  }
  return resumed;
}

/** POST /form/human_input/{token}: take the answer and resume the run along the chosen action. */
export async function submitHumanInput(deps: WorkflowDeps, token: string, body: { inputs?: unknown; action?: unknown }): Promise<void> {
  const form = await openForm(deps.db, token);
  const { action, inputs } = checkSubmission(form, body);
  await markSubmitted(deps.db, form.id, action.id, inputs);
  const def = form.formDefinition as Record<string, any>;
  const rendered = fillFormOutputs(String(def.form_content ?? ""), inputs);
  await resumeRun(deps, form.workflowRunId, {
    filled: { nodeId: form.nodeId, nodeTitle: def.node_title ?? form.nodeId, renderedContent: rendered, actionId: action.id, actionText: action.title, inputs },
    timedOut: null,
  });
}
