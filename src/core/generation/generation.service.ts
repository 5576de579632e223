// Chat, agent-chat and completion generations: validate before anything starts (real 4xx), persist the
// conversation and message, then run the model as a task whose events any reader can follow.
import crypto from "node:crypto";
import type { Db } from "../../db/client.js";
import type { Logger } from "pino";
import type { Prisma } from "../../generated/prisma/client.js";
import { messageText, type ChatMessage, type ContentPart, type ModelProvider, type Usage } from "../../providers/model/types.js";
import type { Viewer } from "../auth/passport.service.js";
import { userInputForm } from "../apps/dsl.js";
import { requireChatApp, requireCompletionApp } from "../apps/modes.js";
import { ownConversations, ownMessages, optionalUuid } from "../conversations/scope.js";
import { AppError, appUnavailable, invalidParam, notFound } from "../errors.js";
import type { GenerationEnvelope, GenerationEvent } from "./events.js";
import { validateInputs } from "./inputs.js";
import { imageUrls, parseFiles, resolveFileInputs, type FileValue } from "../files/file-refs.js";
import { keywordModeration } from "./moderation.js";
import { buildChatMessages, buildCompletionMessages, estimateTokens, type HistoryTurn } from "./prompt.js";
import type { TaskContext, TaskRunner } from "./task-runner.js";

export type GenerationDeps = { db: Db; models: ModelProvider; tasks: TaskRunner; log: Logger };

export type ChatRequest = { query?: unknown; inputs?: unknown; conversationId?: unknown; parentMessageId?: unknown; files?: unknown };
export type CompletionRequest = { query?: unknown; inputs?: unknown };

/** What a finished generation leaves behind; a failed one rejects with its AppError. */
export type GenerationResult = GenerationEnvelope & { answer: string; usage: Usage };

export type StartedGeneration = GenerationEnvelope & {
  /** Settles when the task ends: the saved answer, or the domain error it ended with. */
  result: Promise<GenerationResult>;
};

/** The images as image_url parts of the last user message. */
export function withImages(messages: ChatMessage[], urls: string[], detail?: string): ChatMessage[] {
  const last = messages.findLastIndex((m) => m.role === "user");
  if (!urls.length || last < 0) return messages;
  const parts: ContentPart[] = [
    { type: "text", text: messageText(messages[last].content) },
    ...urls.map((url): ContentPart => ({ type: "image_url", image_url: { url, detail: detail === "low" ? "low" : "high" } })),
  ];
  return messages.map((m, i) => (i === last ? { role: "user", content: parts } : m));
}

type ModelConfig = {
  file_upload?: { image?: { enabled?: boolean; detail?: string } };
  model?: { name?: string; completion_params?: Record<string, unknown> };
  pre_prompt?: string | null;
  opening_statement?: string | null;
  sensitive_word_avoidance?: unknown;
  more_like_this?: { enabled?: boolean };
};

const HISTORY_MESSAGES = 100;

function modelConfigOf(viewer: Viewer): ModelConfig & { model: { name: string } } {
  const config = viewer.app.modelConfig as ModelConfig | null;
  if (!config?.model?.name) throw appUnavailable();
  return config as ModelConfig & { model: { name: string } };
}

function requireQuery(query: unknown, required: boolean): string {
  if (query === undefined || query === null) {
    if (required) throw invalidParam("query is required", "query");
    return "";
  }
  if (typeof query !== "string") throw invalidParam("query must be a string", "query");
  if (required && query.trim() === "") throw invalidParam("query is required", "query");
  return query.replaceAll("\u0000", "");
}

/** Dify names a new conversation after the first 20 characters of its first query. */
export const conversationNameOf = (query: string) => {
  const chars = [...query.trim()];
  return chars.length > 20 ? `${chars.slice(0, 20).join("")}…` : chars.join("");
};

const unix = (d: Date) => Math.floor(d.getTime() / 1000);

/** A new chat turn: the conversation (found or started) and the message waiting for its answer. */
export type ChatTurn = {
  /** Settles when both rows are written; the answer need not wait for it, only its saving does. */
  stored: Promise<void>;
  conversationId: string;
  messageId: string;
  createdAt: Date;
  query: string;
  inputs: Record<string, unknown>;
  history: HistoryTurn[];
  dialogueCount: number;
  prompt: ChatMessage[];
};

/**
 * Everything a chat turn checks and stores before its answer starts, shared by chat, agent-chat and
 * chatflow apps: the query, the conversation (the end user's own), its inputs (validated on the first
 * turn, then kept), the thread so far and the parent message.
 */
export async function openChatTurn(
  db: Db,
  viewer: Viewer,
  req: ChatRequest,
  opts: {
    form: Record<string, unknown>[];
    introduction: string | null;
    modelId: string | null;
    prompt?: (t: { inputs: Record<string, unknown>; history: HistoryTurn[]; query: string }) => ChatMessage[];
    /** The user's files of this turn, kept as the message's files. */
    files?: FileValue[];
  },
): Promise<ChatTurn> {
  const query = requireQuery(req.query, true);
  const conversationId = optionalUuid(req.conversationId, "conversation_id");
  const parentId = optionalUuid(req.parentMessageId, "parent_message_id");
  const conversation = conversationId
    ? await db.conversation.findFirst({ where: { id: conversationId, ...ownConversations(viewer) } })
    : null;
  if (conversationId && !conversation) throw notFound("Conversation Not Exists.");
  // An existing conversation keeps the inputs it started with, as in Dify.
  const inputs = conversation ? (conversation.inputs as Record<string, unknown>) : resolveFileInputs(opts.form, validateInputs(opts.form, req.inputs ?? {}));
  const thread = conversation ? await threadOf(db, viewer, conversation.id, parentId) : { parentId: null, history: [] };
  const prompt = opts.prompt?.({ inputs, history: thread.history, query }) ?? [];

  // The ids are made here and the rows written in the background: the model request need not wait
  // for the database (on embedded PGlite, those writes hold up this whole thread for a few ms).
  const now = new Date();
  const conversationRow = conversation ?? { id: crypto.randomUUID(), dialogueCount: 0 };
  const messageId = crypto.randomUUID();
  const stored = db
    .$transaction(async (tx) => {
      if (conversation) {
        await tx.conversation.update({ where: { id: conversation.id }, data: { updatedAt: now, dialogueCount: { increment: 1 } } });
      } else {
        await tx.conversation.create({
          data: {
            id: conversationRow.id,
            appId: viewer.app.id,
            mode: viewer.app.mode,
            name: conversationNameOf(query),
            inputs: inputs as Prisma.InputJsonValue,
            introduction: opts.introduction,
            fromEndUserId: viewer.endUser.id,
            modelId: opts.modelId,
            dialogueCount: 1,
            createdAt: now,
            updatedAt: now,
          },
        });
      }
      await tx.message.create({
        data: {
          id: messageId,
          appId: viewer.app.id,
          conversationId: conversationRow.id,
          parentMessageId: thread.parentId,
          inputs: inputs as Prisma.InputJsonValue,
          query,
          message: prompt as unknown as Prisma.InputJsonValue,
          fromEndUserId: viewer.endUser.id,
          appMode: viewer.app.mode,
          agentBased: viewer.app.mode === "agent-chat",
          createdAt: now,
        },
      });
      if (opts.files?.length) {
        await tx.messageFile.createMany({
          data: opts.files.map((f) => ({ messageId, type: f.type, transferMethod: f.transfer_method, belongsTo: "user", url: f.url, createdBy: viewer.endUser.id })),
        });
      }
    })
    .then(() => undefined);
  stored.catch(() => {}); // awaited (and reported) where the answer is saved
  return {
    stored,
    conversationId: conversationRow.id,
    messageId,
    createdAt: now,
    query,
    inputs,
    history: thread.history,
    dialogueCount: conversationRow.dialogueCount + 1,
    prompt,
  };
}

/** POST /chat-messages for chat and agent-chat apps (chatflows run on the workflow engine). */
export async function startChat(deps: GenerationDeps, viewer: Viewer, req: ChatRequest): Promise<StartedGeneration> {
  requireChatApp(viewer.app);
  if (viewer.app.mode === "advanced-chat") throw new AppError("app_unavailable", 400, "Chatflow apps answer through the workflow engine.");
  const config = modelConfigOf(viewer);
  const files = parseFiles(req.files);
  // Images go to the model only when the app lets users attach them (model_config.file_upload.image).
  const images = config.file_upload?.image?.enabled ? imageUrls(files) : [];
  const turn = await openChatTurn(deps.db, viewer, req, {
    form: userInputForm(viewer.app.mode, config, null),
    introduction: config.opening_statement ?? null,
    modelId: config.model.name,
    files,
    prompt: ({ inputs, history, query }) => withImages(buildChatMessages({ prePrompt: config.pre_prompt, inputs, history, query }), images, config.file_upload?.image?.detail),
  });
  return run(deps, viewer, {
    kind: "chat",
    stored: turn.stored,
    envelope: { messageId: turn.messageId, conversationId: turn.conversationId, createdAt: unix(turn.createdAt), mode: viewer.app.mode },
    config,
    messages: turn.prompt,
    moderationText: { inputs: turn.inputs, query: turn.query },
  });
}

/** POST /completion-messages (and more-like-this, with the original message's inputs). */
export async function startCompletion(
  deps: GenerationDeps,
  viewer: Viewer,
  req: CompletionRequest,
  validated?: { inputs: Record<string, unknown>; query: string },
): Promise<StartedGeneration> {
  requireCompletionApp(viewer.app);
  const config = modelConfigOf(viewer);
  const query = validated?.query ?? requireQuery(req.query, false);
  const inputs = validated?.inputs ?? validateInputs(userInputForm(viewer.app.mode, config, null), req.inputs ?? {});
  const messages = buildCompletionMessages({ prePrompt: config.pre_prompt, inputs, query });
  // Completion messages live in a hidden conversation of their own, as in Dify; written in the
  // background like a chat turn's.
  const messageId = crypto.randomUUID();
  const createdAt = new Date();
  const stored = deps.db.message.create({
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
    },
  }).then(() => undefined);
  stored.catch(() => {});
  return run(deps, viewer, {
    kind: "completion",
    stored,
    envelope: { messageId, conversationId: null, createdAt: unix(createdAt), mode: "completion" },
    config,
    messages,
    moderationText: { inputs, query },
  });
}

/** GET /messages/{id}/more-like-this: the same inputs and query once more, as a new message. */
export async function startMoreLikeThis(deps: GenerationDeps, viewer: Viewer, messageId: string): Promise<StartedGeneration> {
  requireCompletionApp(viewer.app);
  const id = optionalUuid(messageId, "message_id");
  const original = id ? await deps.db.message.findFirst({ where: { id, ...ownMessages(viewer) } }) : null;
  if (!original) throw notFound("Message Not Exists.");
  if (!modelConfigOf(viewer).more_like_this?.enabled) {
    throw new AppError("app_more_like_this_disabled", 403, "The 'More like this' feature is disabled. Please refresh your page.");
  }
  return startCompletion(deps, viewer, {}, { inputs: original.inputs as Record<string, unknown>, query: original.query });
}

/** The conversation's thread up to the parent message (default: its latest), oldest first. */
export async function threadOf(db: Db, viewer: Viewer, conversationId: string, parentId: string | null) {
  const rows = await db.message.findMany({
    where: { conversationId, ...ownMessages(viewer) },
    orderBy: { createdAt: "desc" },
    take: HISTORY_MESSAGES,
    select: { id: true, parentMessageId: true, query: true, answer: true },
  });
  if (parentId && !rows.some((r) => r.id === parentId)) throw notFound("Message Not Exists.");
  const byId = new Map(rows.map((r) => [r.id, r]));
  const history: HistoryTurn[] = [];
  let at: string | null | undefined = parentId ?? rows[0]?.id;
  while (at && byId.has(at)) {
    const row: { parentMessageId: string | null; query: string; answer: string } = byId.get(at)!;
    history.unshift({ query: row.query, answer: row.answer });
    byId.delete(at); // a cycle cannot loop forever
    at = row.parentMessageId;
  }
  return { parentId: parentId ?? rows[0]?.id ?? null, history };
}

type RunPlan = {
  kind: string;
  /** The message's row being written; saving the answer waits for it. */
  stored: Promise<void>;
  envelope: Omit<GenerationEnvelope, "taskId">;
  config: ModelConfig & { model: { name: string } };
  messages: ChatMessage[];
  moderationText: { inputs: Record<string, unknown>; query: string };
};

const zeroUsage: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };

async function run(deps: GenerationDeps, viewer: Viewer, plan: RunPlan): Promise<StartedGeneration> {
  let settle!: { resolve(r: GenerationResult): void; reject(e: unknown): void };
  const result = new Promise<GenerationResult>((resolve, reject) => (settle = { resolve, reject }));
  result.catch(() => {}); // a caller that only streams need not await it
  const started = await deps.tasks.start<GenerationEvent>(
    { appId: viewer.app.id, endUserId: viewer.endUser.id, kind: plan.kind },
    (task) => generate(deps, plan, task).then(settle.resolve, settle.reject),
  );
  return { ...plan.envelope, taskId: started.taskId, result };
}

async function generate(deps: GenerationDeps, plan: RunPlan, task: TaskContext<GenerationEvent>): Promise<GenerationResult> {
  const envelope: GenerationEnvelope = { ...plan.envelope, taskId: task.taskId };
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
        await task.emit({ ...envelope, type: "message", answer: ch });
      }
      usage = zeroUsage;
    } else {
      if (agent) await thought("");
      const params = plan.config.model.completion_params;
      for await (const event of deps.models.stream({ model: plan.config.model.name, messages: plan.messages, params, signal: task.signal })) {
        if (event.type === "delta") {
          answer += event.text;
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
    if (task.signal.aborted) {
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
  try {
    await plan.stored;
  } catch (err) {
    deps.log.error({ err, taskId: task.taskId }, "could not store the message");
    const lost = new AppError("internal_server_error", 500, "Internal Server Error, please contact support.");
    await task.emit({ ...envelope, type: "error", code: lost.code, message: lost.message, status: lost.status });
    throw lost;
  }
  await deps.db.message.update({
    where: { id: envelope.messageId },
    data: {
      answer,
      messageTokens: usage.promptTokens,
      answerTokens: usage.completionTokens,
      providerResponseLatency: latency,
      status: failure ? "error" : "normal",
      error: failure?.message ?? null,
      messageMetadata: { usage: difyUsage(usage, latency), retriever_resources: [] },
    },
  });
  if (failure) {
    await task.emit({ ...envelope, type: "error", code: failure.code, message: failure.message, status: failure.status });
    throw failure;
  }
  await task.emit({ ...envelope, type: "message_end", usage, retrieverResources: [] });
  return { ...envelope, answer, usage };
}

/** The `usage` Dify keeps in message metadata (prices are unknown to a generic endpoint). */
export function difyUsage(u: Usage, latency: number) {
  return {
    prompt_tokens: u.promptTokens,
    prompt_unit_price: "0",
    prompt_price_unit: "0",
    prompt_price: "0",
    completion_tokens: u.completionTokens,
    completion_unit_price: "0",
    completion_price_unit: "0",
    completion_price: "0",
    total_tokens: u.totalTokens,
    total_price: "0",
    currency: "USD",
    latency: Math.round(latency * 1000) / 1000,
  };
}
