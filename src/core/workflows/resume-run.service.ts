// Resuming a paused run, on whichever instance the form's answer (or its timeout) arrives: the state
// comes from the database, the events go to the task log the pause opened, so readers that waited
// there (on any instance) see the run go on.
import { checkSubmission, fillFormOutputs, markSubmitted, markTimedOut, openForm, timedOutForms } from "./human-input.service.js";
import { RunSession, type FormAnswer, type WorkflowDeps } from "./run-session.js";

/** Resume `runId` if it is still paused; false when another request resumed it first. */
export async function resumeRun(deps: WorkflowDeps, runId: string, answer: FormAnswer): Promise<boolean> {
  const session = await RunSession.resume(deps, runId, answer);
  if (!session) return false;
  const { result } = await session.start();
  result.catch((err) => deps.log.warn({ err, runId }, "resumed run failed"));
  return true;
}

/** The forms whose node timeout passed: mark them and send their runs down the timeout branch. */
export async function resumeTimedOutForms(deps: WorkflowDeps): Promise<number> {
  let resumed = 0;
  for (const form of await timedOutForms(deps.db)) {
    if (!(await markTimedOut(deps.db, form.id))) continue;
    const def = form.formDefinition as { node_title?: string };
    const answer: FormAnswer = { kind: "timeout", nodeId: form.nodeId, nodeTitle: def.node_title ?? form.nodeId, expirationTime: form.expirationTime };
    if (await resumeRun(deps, form.workflowRunId, answer)) resumed++;
  }
  return resumed;
}

/** POST /form/human_input/{token}: take the answer and resume the run along the chosen action. */
export async function submitHumanInput(deps: WorkflowDeps, token: string, body: { inputs?: unknown; action?: unknown }): Promise<void> {
  const form = await openForm(deps.db, token);
  const { action, inputs } = checkSubmission(form, body);
  await markSubmitted(deps.db, form.id, action.id, inputs);
  const def = form.formDefinition as Record<string, any>;
  const renderedContent = fillFormOutputs(String(def.form_content ?? ""), inputs);
  await resumeRun(deps, form.workflowRunId, {
    kind: "filled",
    nodeId: form.nodeId,
    nodeTitle: def.node_title ?? form.nodeId,
    renderedContent,
    actionId: action.id,
    actionText: action.title,
    inputs,
  });
}
