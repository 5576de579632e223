// Which endpoints serve which app modes (behaviour.md 1.4).
import type { App } from "../../generated/prisma/client.js";
import { AppError } from "../errors.js";

export const CHAT_MODES = new Set(["chat", "agent-chat", "advanced-chat"]);

export function requireChatApp(app: Pick<App, "mode">) {
  if (!CHAT_MODES.has(app.mode)) throw new AppError("not_chat_app", 400, "App mode is not in the supported list.");
}

export function requireCompletionApp(app: Pick<App, "mode">) {
  if (app.mode !== "completion") throw new AppError("not_completion_app", 400, "Not Completion App");
}

export function requireWorkflowApp(app: Pick<App, "mode">) {
  if (app.mode !== "workflow") throw new AppError("not_workflow_app", 400, "Only support workflow app.");
}
