// Chatflow (advanced-chat) turns: the chat turn is stored as for chat apps (src/core/chat), then the
// workflow answers it in a run session, which saves the answer on the turn's message.
import type { Viewer } from "../auth/passport.service.js";
import { userInputForm } from "../apps/dsl.js";
import { requireChatApp } from "../apps/modes.js";
import { openChatTurn, type ChatRequest } from "../chat/turn.js";
import { AppError } from "../errors.js";
import { requestFiles } from "../files/request-files.js";
import { featureRule } from "../files/upload-policy.js";
import { chatflowAnswer, type ChatflowAnswer } from "./chatflow-turn.js";
import { RunSession, type WorkflowDeps } from "./run-session.js";
import { imagesForVision, publishedWorkflow, workflowFeatures } from "./run.service.js";
import { speechSettings } from "../speech/settings.js";

export type StartedChatflow = {
  taskId: string;
  runId: string;
  messageId: string;
  conversationId: string;
  createdAt: Date;
  /** The answer, once the run ends (or pauses); rejects when the run failed. */
  result: Promise<ChatflowAnswer>;
};

export async function startChatflow(deps: WorkflowDeps, viewer: Viewer, req: ChatRequest): Promise<StartedChatflow> {
  requireChatApp(viewer.app);
  if (viewer.app.mode !== "advanced-chat") throw new AppError("app_unavailable", 400, "Only chatflow apps run on the workflow engine.");
  const workflow = await publishedWorkflow(deps.db, viewer);
  const features = workflowFeatures(workflow);
  // Files count only where the chatflow takes them (its file_upload feature), as in Dify.
  const files = await requestFiles(deps, viewer, req.files, featureRule(features.file_upload));
  const images = RunSession.imagesOf(deps, viewer);
  const turn = await openChatTurn(deps, viewer, req, {
    form: userInputForm("advanced-chat", null, workflow.graph),
    introduction: features.opening_statement || null,
    modelId: null,
    files,
    beforeWrite: ({ inputs }) => images.prefetch(imagesForVision(workflow, inputs, files)),
  });
  await turn.stored; // the run refers to the message and its answer is saved on it
  const tts = speechSettings(features.text_to_speech);
  const speech = req.streaming && tts.autoPlay ? tts : null;
  const session = await RunSession.forChatflowTurn(deps, { viewer, workflow, turn, files, images, speech });
  const started = await session.start();
  const result = started.result.then(chatflowAnswer);
  result.catch(() => {}); // a caller that only streams need not await it; a failed run rejects it
  return { taskId: started.taskId, runId: started.runId, messageId: turn.messageId, conversationId: turn.conversationId, createdAt: turn.createdAt, result };
}
