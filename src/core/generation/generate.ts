// Running chat, agent-chat and completion generations: validate before anything starts (real 4xx), persist the
// conversation and message, then run the model as a task whose events any reader can follow.
import crypto from "node:crypto";
import type { Db } from "../ports/database.js";
import type { Logger } from "pino";
import type { Prisma } from "../../generated/prisma/client.js";
import { messageText, type ChatMessage, type ModelProvider, type Usage } from "../ports/model.js";
import type { Viewer } from "../auth/passport.service.js";
import { userInputForm } from "../apps/dsl.js";
import { requireChatApp, requireCompletionApp } from "../apps/modes.js";
import { ownMessages, optionalUuid } from "../conversations/scope.js";
import { AppError, appUnavailable, notFound } from "../errors.js";
import type { GenerationEnvelope, GenerationEvent } from "./events.js";
import { validateInputs } from "../apps/inputs.js";
import { openChatTurn, requireQuery, type ChatRequest } from "../chat/turn.js";
import { estimateTokens, withImages } from "../chat/model-messages.js";
import { filesAmong, markUsed, requestFiles, resolveFileInputs } from "../files/request-files.js";
import { FileContents } from "../files/file-contents.js";
import { ModelImages, namedImages, type RemoteFileLimits } from "../files/model-images.js";
import { featureRule } from "../files/upload-policy.js";
import type { FileLinks } from "../files/signed-url.js";
import type { FileStorage } from "../ports/file-storage.js";
import type { OutboundFetch } from "../ports/outbound-fetch.js";
import { keywordModeration } from "./moderation.js";
import { buildChatMessages, buildCompletionMessages } from "./prompt.js";
import { HandingOver, type TaskContext, type TaskRunner } from "../tasks/task-runner.js";
import { TASK_LOST } from "./lost-generation.js";
import type { AnswerCheckpoints } from "./answer-checkpoints.js";
import { storedMetadata } from "../messages/message.service.js";
import { messageFileRow } from "../messages/message-files.js";
import type { SpeechProvider } from "../ports/speech.js";
import { speechSettings, type SpeechSettings } from "../speech/settings.js";
import { SpokenAnswer } from "../speech/spoken-answer.js";

export type GenerationDeps = {
  db: Db;
  models: ModelProvider;
  tasks: TaskRunner;
  log: Logger;
  fetch: OutboundFetch;
  storage: FileStorage;
  links: FileLinks;
  remoteFiles?: RemoteFileLimits;
  answers: AnswerCheckpoints;
  /** Speaks streamed answers when the app auto-plays speech. */
  speech?: SpeechProvider;
};

export type CompletionRequest = { query?: unknown; inputs?: unknown; files?: unknown; streaming?: boolean };
export type { ChatRequest };

/** What a finished generation leaves behind; a failed one rejects with its AppError. */
export type GenerationResult = GenerationEnvelope & { answer: string; usage: Usage };

export type StartedGeneration = GenerationEnvelope & {
  /** Settles when the task ends: the saved answer, or the domain error it ended with. */
  result: Promise<GenerationResult>;
};

type ModelConfig = {
  file_upload?: { enabled?: boolean; image?: { enabled?: boolean; detail?: string } };
  model?: { name?: string; completion_params?: Record<string, unknown> };
  pre_prompt?: string | null;
  opening_statement?: string | null;
  sensitive_word_avoidance?: unknown;
  more_like_this?: { enabled?: boolean };
  text_to_speech?: unknown;
};

/** How to speak the answer as it streams, or null: only streamed answers of apps that auto-play are spoken. */
function autoPlay(config: ModelConfig, streaming: boolean | undefined): SpeechSettings | null {
  const settings = speechSettings(config.text_to_speech);
  return streaming && settings.autoPlay ? settings : null;
}

function modelConfigOf(viewer: Viewer): ModelConfig & { model: { name: string } } {
  const config = viewer.app.modelConfig as ModelConfig | null;
  if (!config?.model?.name) throw appUnavailable();
  return config as ModelConfig & { model: { name: string } };
}


/** POST /chat-messages for chat and agent-chat apps (chatflows run on the workflow engine). */
export async function startChat(deps: GenerationDeps, viewer: Viewer, req: ChatRequest): Promise<StartedGeneration> {
  requireChatApp(viewer.app);
  if (viewer.app.mode === "advanced-chat") throw new AppError("app_unavailable", 400, "Chatflow apps answer through the workflow engine.");
  const config = modelConfigOf(viewer);
  // Files count only where the app takes them (model_config.file_upload); images go to the model.
  const files = await requestFiles(deps, viewer, req.files, featureRule(config.file_upload));
  const images = namedImages(files, "files");
  const modelImages = new ModelImages(new FileContents(deps, viewer), deps.remoteFiles);
  const turn = await openChatTurn(deps, viewer, req, {
    form: userInputForm(viewer.app.mode, config, null),
    introduction: config.opening_statement ?? null,
    modelId: config.model.name,
    files,
    beforeWrite: () => modelImages.prefetch(images),
    // The stored prompt names the images by URL; the model gets them inlined, below.
    prompt: ({ inputs, history, query }) =>
      withImages(buildChatMessages({ prePrompt: config.pre_prompt, inputs, history, query }), images.map((i) => i.file.url), config.file_upload?.image?.detail),
  });
  return run(deps, viewer, {
    kind: "chat",
    stored: turn.stored,
    envelope: { messageId: turn.messageId, conversationId: turn.conversationId, createdAt: turn.createdAt, mode: viewer.app.mode },
    config,
    messages: await modelImages.inline(turn.prompt, files),
    moderationText: { inputs: turn.inputs, query: turn.query },
    speech: autoPlay(config, req.streaming),
  });
}

/** POST /completion-messages (and more-like-this, with the original message's inputs and files). */
export async function startCompletion(
  deps: GenerationDeps,
  viewer: Viewer,
  req: CompletionRequest,
  validated?: { inputs: Record<string, unknown>; query: string },
): Promise<StartedGeneration> {
  requireCompletionApp(viewer.app);
  const config = modelConfigOf(viewer);
  const query = validated?.query ?? requireQuery(req.query, false);
  const form = userInputForm(viewer.app.mode, config, null);
  const inputs = validated?.inputs ?? (await resolveFileInputs(deps, viewer, form, validateInputs(form, req.inputs ?? {})));
  const files = await requestFiles(deps, viewer, req.files, featureRule(config.file_upload));
  const images = namedImages(files, "files");
  const modelImages = new ModelImages(new FileContents(deps, viewer), deps.remoteFiles);
  await modelImages.prefetch(images);
  // The stored prompt names the images by URL; the model gets them inlined.
  const messages = withImages(buildCompletionMessages({ prePrompt: config.pre_prompt, inputs, query }), images.map((i) => i.file.url), config.file_upload?.image?.detail);
  // Completion messages live in a hidden conversation of their own, as in Dify; written in the
  // background like a chat turn's.
  const messageId = crypto.randomUUID();
  const createdAt = new Date();
  const stored = deps.db
    .$transaction(async (tx) => {
      await tx.message.create({
        data: {
          id: messageId,
          createdAt,
          app: { connect: { id: viewer.app.id } },
          conversation: {
            create: {
              appId: viewer.app.id,
              mode: "completion",
              name: "",
              inputs: inputs as Prisma.InputJsonValue,
              fromEndUserId: viewer.endUser.id,
              modelId: config.model.name,
            },
          },
          inputs: inputs as Prisma.InputJsonValue,
          query,
          message: messages as unknown as Prisma.InputJsonValue,
          fromEndUserId: viewer.endUser.id,
          appMode: "completion",
          files: { create: files.map((f) => messageFileRow(f, viewer, createdAt)) },
        },
      });
      await markUsed(tx, viewer, [...files, ...filesAmong(Object.values(inputs))], createdAt);
    })
    .then(() => undefined);
  stored.catch(() => {});
  return run(deps, viewer, {
    kind: "completion",
    stored,
    envelope: { messageId, conversationId: null, createdAt, mode: "completion" },
    config,
    messages: await modelImages.inline(messages, files),
    moderationText: { inputs, query },
    speech: autoPlay(config, req.streaming),
  });
}

/** GET /messages/{id}/more-like-this: the same inputs, query and files once more, as a new message. */
export async function startMoreLikeThis(deps: GenerationDeps, viewer: Viewer, messageId: string): Promise<StartedGeneration> {
  requireCompletionApp(viewer.app);
  const id = optionalUuid(messageId, "message_id");
  const original = id ? await deps.db.message.findFirst({ where: { id, ...ownMessages(viewer) }, include: { files: true } }) : null;
  if (!original) throw notFound("Message Not Exists.");
  if (!modelConfigOf(viewer).more_like_this?.enabled) {
    throw new AppError("app_more_like_this_disabled", 403, "The 'More like this' feature is disabled. Please refresh your page.");
  }
  // The original's files, as the request that sent them named them.
  const files = original.files.map((f) => ({ type: f.type, transfer_method: f.transferMethod, upload_file_id: f.uploadFileId, url: f.url }));
  return startCompletion(deps, viewer, { files }, { inputs: original.inputs as Record<string, unknown>, query: original.query });
}

type RunPlan = {
  kind: string;
  /** The message's row being written; saving the answer waits for it. */
  stored: Promise<void>;
  envelope: Omit<GenerationEnvelope, "taskId">;
  config: ModelConfig & { model: { name: string } };
  messages: ChatMessage[];
  moderationText: { inputs: Record<string, unknown>; query: string };
  /** Speak the answer as it streams (tts_message events), with these settings. */
  speech: SpeechSettings | null;
};

const zeroUsage: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };

async function run(deps: GenerationDeps, viewer: Viewer, plan: RunPlan): Promise<StartedGeneration> {
  let settle!: { resolve(r: GenerationResult): void; reject(e: unknown): void };
  const result = new Promise<GenerationResult>((resolve, reject) => (settle = { resolve, reject }));
  result.catch(() => {}); // a caller that only streams need not await it
  const started = await deps.tasks.start<GenerationEvent>(
    { appId: viewer.app.id, endUserId: viewer.endUser.id, kind: plan.kind, messageId: plan.envelope.messageId },
    (task) => generate(deps, plan, task).then(settle.resolve, settle.reject),
  );
  return { ...plan.envelope, taskId: started.taskId, result };
}

async function generate(deps: GenerationDeps, plan: RunPlan, task: TaskContext<GenerationEvent>): Promise<GenerationResult> {
  const envelope: GenerationEnvelope = { ...plan.envelope, taskId: task.taskId };
  // Speech runs beside the text: `grow` never waits, so no text event waits on it.
  const spoken =
    plan.speech && deps.speech
      ? new SpokenAnswer(deps.speech, plan.speech, (audio, last) => task.emit({ ...envelope, type: last ? "tts_message_end" : "tts_message", audio }), deps.log, task.signal)
      : null;
  try {
    return await answer(deps, plan, task, envelope, spoken);
  } finally {
    // Whatever happened, the speech is over before the task's log is.
    spoken?.cancel();
    await spoken?.end();
  }
}

async function answer(deps: GenerationDeps, plan: RunPlan, task: TaskContext<GenerationEvent>, envelope: GenerationEnvelope, spoken: SpokenAnswer | null): Promise<GenerationResult> {
  const agent = envelope.mode === "agent-chat";
  const moderation = keywordModeration(plan.config.sensitive_word_avoidance);
  const started = performance.now();
  let answer = "";
  let usage: Usage | null = null;
  let failure: AppError | null = null;

  const refusal = moderation?.checkInputs(plan.moderationText.inputs, plan.moderationText.query) ?? null;
  const thoughtId = crypto.randomUUID();
  const thought = (text: string) =>
    task.emit({ ...envelope, type: "agent_thought", id: thoughtId, position: 1, thought: text, observation: "", tool: "", toolInput: "" });
  try {
    if (refusal !== null) {
      // Dify types the preset reply out, one message event per character.
      for (const ch of refusal) {
        answer += ch;
        spoken?.grow(ch);
        await task.emit({ ...envelope, type: "message", answer: ch });
      }
      usage = zeroUsage;
    } else {
      if (agent) await thought("");
      const params = plan.config.model.completion_params;
      for await (const event of deps.models.stream({ model: plan.config.model.name, messages: plan.messages, params, signal: task.signal })) {
        if (event.type === "delta") {
          answer += event.text;
          deps.answers.grew(envelope.messageId, answer);
          spoken?.grow(event.text);
          await task.emit({ ...envelope, type: "message", answer: event.text });
        } else usage = event.usage;
      }
      const replacement = moderation?.checkOutput(answer) ?? null;
      if (replacement !== null) {
        answer = replacement;
        await task.emit({ ...envelope, type: "message_replace", answer, reason: "output_moderation" });
      }
      if (agent) await thought(answer);
    }
  } catch (err) {
    if (task.signal.reason instanceof HandingOver) {
      // The server is shutting down: the answer so far is kept, and it ends as one that was cut short.
      failure = new AppError(TASK_LOST.code, TASK_LOST.status, TASK_LOST.message);
    } else if (task.signal.aborted) {
      // Stopped: keep the partial answer; its tokens are estimated, the model never reported them.
    } else if (err instanceof AppError) {
      failure = err;
    } else {
      deps.log.error({ err, taskId: task.taskId }, "generation failed");
      failure = new AppError("internal_server_error", 500, "Internal Server Error, please contact support.");
    }
  }
  usage ??= {
    promptTokens: estimateTokens(plan.messages.map((m) => messageText(m.content)).join("\n")),
    completionTokens: estimateTokens(answer),
    totalTokens: 0,
  };
  if (!usage.totalTokens) usage = { ...usage, totalTokens: usage.promptTokens + usage.completionTokens };
  const latency = (performance.now() - started) / 1000;
  // A failed or unsaved answer is not spoken further; its speech ends before the error.
  if (failure) spoken?.cancel();
  try {
    await plan.stored;
  } catch (err) {
    spoken?.cancel();
    await spoken?.end();
    deps.log.error({ err, taskId: task.taskId }, "could not store the message");
    const lost = new AppError("internal_server_error", 500, "Internal Server Error, please contact support.");
    await task.emit({ ...envelope, type: "error", code: lost.code, message: lost.message, status: lost.status });
    throw lost;
  }
  await deps.answers.ended(envelope.messageId);
  await deps.db.message.update({
    where: { id: envelope.messageId },
    data: {
      answer,
      messageTokens: usage.promptTokens,
      answerTokens: usage.completionTokens,
      providerResponseLatency: latency,
      status: failure ? "error" : "normal",
      error: failure?.message ?? null,
      messageMetadata: storedMetadata(usage, latency),
    },
  });
  if (failure) {
    await spoken?.end();
    await task.emit({ ...envelope, type: "error", code: failure.code, message: failure.message, status: failure.status });
    throw failure;
  }
  // The answer's own files (message_end shows them on the answer); a model's answer here has none.
  await task.emit({ ...envelope, type: "message_end", usage, retrieverResources: [], files: [] });
  // Dify's order: the rest of the speech and tts_message_end follow message_end.
  await spoken?.end();
  return { ...envelope, answer, usage };
}

