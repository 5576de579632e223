// The end user's generation use cases, whatever the app mode: send a chat message (chat and agent-chat
// on the model, chatflows on the workflow engine), run a completion, ask for more like this, follow-up
// questions, stop a generation you started, follow its events again. Both surfaces call these.
import type { Viewer } from "../auth/passport.service.js";
import { CHAT_MODES, requireChatApp, requireCompletionApp } from "../apps/modes.js";
import type { LoggedEvent } from "../ports/task-store.js";
import { openTaskEvents, readTask } from "../tasks/task-events.js";
import { startChatflow } from "../workflows/chatflow.service.js";
import type { WorkflowDeps } from "../workflows/run-session.js";
import type { WorkflowEvent } from "../workflows/events.js";
import type { GenerationEnvelope, GenerationEvent } from "./events.js";
import { startChat, startCompletion, startMoreLikeThis, type GenerationDeps, type ChatRequest, type CompletionRequest, type GenerationResult, type StartedGeneration } from "./generate.js";
import { suggestedQuestions } from "./suggestions.service.js";
import { AppError } from "../errors.js";

/** What a generation's stream carries: a chatflow turn streams its workflow's events as well. */
export type StreamEvent = GenerationEvent | WorkflowEvent;

/** A generation that has started: its envelope, its events (from the first), and how it ends. */
export type GenerationTask = GenerationEnvelope & {
  /** The workflow run behind a chatflow turn; null for chat, agent-chat and completion. */
  runId: string | null;
  /** The events from the start, replayed then live, until the task ends or `signal` aborts. */
  events(signal?: AbortSignal): AsyncIterable<LoggedEvent<StreamEvent>>;
  /** Settles when the task ends: the saved answer, or the domain error it failed with. */
  result: Promise<GenerationResult>;
};

export type { ChatRequest, CompletionRequest, GenerationResult };

export function generationService(deps: WorkflowDeps & GenerationDeps) {
  const events = (taskId: string) => (signal?: AbortSignal) => readTask(deps.tasks.store, taskId, 0, signal) as AsyncIterable<LoggedEvent<StreamEvent>>;
  const task = (started: StartedGeneration): GenerationTask => ({ ...started, runId: null, events: events(started.taskId) });

  return {
    /** Send a message to a chat, agent-chat or chatflow app. */
    async sendChatMessage(viewer: Viewer, request: ChatRequest): Promise<GenerationTask> {
      requireChatApp(viewer.app);
      if (viewer.app.mode !== "advanced-chat") return task(await startChat(deps, viewer, request));
      const started = await startChatflow(deps, viewer, request);
      const envelope = { taskId: started.taskId, messageId: started.messageId, conversationId: started.conversationId, createdAt: started.createdAt, mode: "advanced-chat" };
      // A chatflow's answer is what its answer nodes sent, whether the run succeeded or not.
      const result = started.result.then((answer) => ({ ...envelope, ...answer }));
      result.catch(() => {}); // a caller that only streams need not await it
      return { ...envelope, runId: started.runId, events: events(started.taskId), result };
    },

    /** Run a completion app on the given inputs (and query). */
    async sendCompletionMessage(viewer: Viewer, request: CompletionRequest): Promise<GenerationTask> {
      return task(await startCompletion(deps, viewer, request));
    },

    /** Another answer to a completion message's inputs, as a new message (when the app enables it). */
    async moreLikeThis(viewer: Viewer, messageId: string): Promise<GenerationTask> {
      return task(await startMoreLikeThis(deps, viewer, messageId));
    },

    /** Follow-up questions the model suggests after an answer (chat apps that enable it). */
    suggestedQuestions(viewer: Viewer, messageId: string): Promise<string[]> {
      return suggestedQuestions(deps, viewer, messageId);
    },

    /**
     * Stop a generation the viewer started; `family` checks the app is of it first (Dify's routes do).
     * Returns whether a stop was requested: another end user's task is left alone, silently.
     */
    async stop(viewer: Viewer, taskId: string, family?: "chat" | "completion"): Promise<boolean> {
      if (family === "chat") requireChatApp(viewer.app);
      else if (family === "completion") requireCompletionApp(viewer.app);
      else if (!CHAT_MODES.has(viewer.app.mode) && viewer.app.mode !== "completion") {
        throw new AppError("not_chat_app", 400, "App mode is not in the supported list.");
      }
      return deps.tasks.stop(taskId, { appId: viewer.app.id, endUserId: viewer.endUser.id });
    },

    /** A generation's events after `after` (a sequence number), replayed then live; owner only. */
    async follow(viewer: Viewer, taskId: string, after: number): Promise<(signal?: AbortSignal) => AsyncIterable<LoggedEvent<StreamEvent>>> {
      if (after < 0) throw new AppError("invalid_param", 400, "after must not be negative", "after");
      return (await openTaskEvents(deps.tasks, viewer, taskId, after)) as (signal?: AbortSignal) => AsyncIterable<LoggedEvent<StreamEvent>>;
    },
  };
}

export type GenerationService = ReturnType<typeof generationService>;
