// Chatflow (advanced-chat) turns: the chat turn is stored as for chat apps, the answer comes from the
// workflow's answer nodes, and the message is saved with it before message_end.
import type { Prisma } from "../../generated/prisma/client.js";
import type { Viewer } from "../auth/passport.service.js";
import { userInputForm } from "../apps/dsl.js";
import { requireChatApp } from "../apps/modes.js";
import { AppError } from "../errors.js";
import { parseFiles } from "../files/file-refs.js";
import { estimateTokens } from "../chat/model-messages.js";
import { storedMetadata } from "../messages/message.service.js";
import { openChatTurn, type ChatRequest } from "../chat/turn.js";
import type { RunOutcome } from "./engine.js";
import { publishedWorkflow, runWorkflow, type RunPlan, type StartedRun, type WorkflowDeps } from "./run.service.js";

export type StartedChatflow = StartedRun & { messageId: string; conversationId: string; createdAt: Date };

/** Conversation variables: the DSL's defaults, overlaid with what earlier turns stored. */
async function conversationVariables(deps: WorkflowDeps, conversationId: string, declared: unknown): Promise<Record<string, unknown>> {
  const values: Record<string, unknown> = {};
  const byId = new Map<string, string>();
  for (const v of (declared ?? []) as { id: string; name: string; value: unknown }[]) {
    values[v.name] = v.value;
    byId.set(v.id, v.name);
  }
  const stored = await deps.db.workflowConversationVariable.findMany({ where: { conversationId } });
  for (const row of stored) {
    const name = byId.get(row.id);
    if (name) values[name] = (row.data as { value?: unknown })?.value;
  }
  return values;
}

/** Keep the conversation variables a turn ended with, for the next turn. */
async function saveConversationVariables(deps: WorkflowDeps, appId: string, conversationId: string, declared: unknown, values: Record<string, unknown>) {
  for (const v of (declared ?? []) as { id: string; name: string; value_type?: string }[]) {
    if (!(v.name in values)) continue;
    const data = { ...v, value: values[v.name] } as Prisma.InputJsonValue;
    await deps.db.workflowConversationVariable.upsert({
      where: { id_conversationId: { id: v.id, conversationId } },
      create: { id: v.id, conversationId, appId, data },
      update: { data },
    });
  }
}

/** What a chatflow turn does when its run ends (or pauses): save the answer and the conversation variables. */
export function finishTurn(deps: WorkflowDeps, appId: string, messageId: string, conversationId: string, declaredVariables: unknown): NonNullable<RunPlan["onFinished"]> {
  return async (outcome: RunOutcome, task, envelope, pool) => {
    await saveConversationVariables(deps, appId, conversationId, declaredVariables, pool.ownerValues("conversation") ?? {});
    const usage = { promptTokens: 0, completionTokens: estimateTokens(outcome.answer), totalTokens: outcome.tokens };
    const status = outcome.status === "failed" ? "error" : outcome.status === "paused" ? "paused" : "normal";
    await deps.db.message.update({
      where: { id: messageId },
      data: {
        answer: outcome.answer,
        answerTokens: usage.completionTokens,
        workflowRunId: envelope.runId,
        status,
        error: status === "error" ? outcome.error : null,
        messageMetadata: storedMetadata(usage, 0),
      },
    });
    // Dify's order for chatflows: message_end, then workflow_finished; a paused turn has no end yet.
    if (status === "normal") await task.emit({ ...envelope, type: "message_end", usage });
  };
}

export async function startChatflow(deps: WorkflowDeps, viewer: Viewer, req: ChatRequest): Promise<StartedChatflow> {
  requireChatApp(viewer.app);
  if (viewer.app.mode !== "advanced-chat") throw new AppError("app_unavailable", 400, "Only chatflow apps run on the workflow engine.");
  const workflow = await publishedWorkflow(deps, viewer);
  const files = parseFiles(req.files);
  const features = (workflow.features ?? {}) as { opening_statement?: string };
  const turn = await openChatTurn(deps.db, viewer, req, {
    form: userInputForm("advanced-chat", null, workflow.graph),
    introduction: features.opening_statement || null,
    modelId: null,
  });
  await turn.stored; // the run refers to the message and its answer is saved on it
  const createdAt = turn.createdAt;
  const started = await runWorkflow(deps, {
    viewer,
    workflow,
    inputs: turn.inputs,
    sys: { query: turn.query, files, conversation_id: turn.conversationId, dialogue_count: turn.dialogueCount },
    conversationVariables: await conversationVariables(deps, turn.conversationId, workflow.conversationVariables),
    history: turn.history,
    envelope: { workflowId: workflow.id, mode: "advanced-chat", conversationId: turn.conversationId, messageId: turn.messageId, createdAt },
    onFinished: finishTurn(deps, viewer.app.id, turn.messageId, turn.conversationId, workflow.conversationVariables),
  });
  return { ...started, messageId: turn.messageId, conversationId: turn.conversationId, createdAt };
}
