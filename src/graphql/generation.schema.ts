// Generations over GraphQL: subscriptions that start one and stream its events (graphql-ws and SSE),
// blocking mutations, stop, and resume by sequence number. The same use cases as the REST routes.
import { builder } from "./builder.js";
import type { GraphQLContext } from "./context.js";
import { FileInput, fileReferences, globalId, recordId, subscriptionStream, type AppErrorValue } from "./common.schema.js";
import { MessageFileRef, MessageRef, UsageRef } from "./conversation.schema.js";
import { WORKFLOW_EVENT_TYPES, WORKFLOW_TYPE_NAMES } from "./workflow.schema.js";
import { AppError } from "../core/errors.js";
import type { GenerationEvent } from "../core/generation/events.js";
import type { GenerationResult, GenerationTask } from "../core/generation/generation.service.js";

type SeqEvent = GenerationEvent & { seq: number };


const GenerationEventInterface = builder.interfaceRef<SeqEvent>("GenerationEvent").implement({
  description: "One event of a generation task, in order.",
  fields: (t) => ({
    seq: t.int({ description: "The event's sequence number in its task: resume after it with taskEvents.", resolve: (e) => e.seq }),
    taskId: t.id({ resolve: (e) => e.taskId }),
    messageId: t.id({ description: "The message's global id.", resolve: (e) => globalId("Message", e.messageId) }),
    conversationId: t.id({
      nullable: true,
      description: "The conversation's global id; null for completion apps.",
      resolve: (e) => (e.conversationId ? globalId("Conversation", e.conversationId) : null),
    }),
    createdAt: t.field({ type: "DateTime", description: "When the message was created.", resolve: (e) => e.createdAt }),
  }),
});

const eventType = <K extends GenerationEvent["type"]>(
  name: string,
  type: K,
  description: string,
  fields: (t: any) => Record<string, any> = () => ({}),
) =>
  builder.objectRef<Extract<GenerationEvent, { type: K }> & { seq: number }>(name).implement({
    description,
    interfaces: [GenerationEventInterface],
    isTypeOf: (e: any) => e?.type === type,
    fields,
  });

const MessageDelta = eventType("MessageDelta", "message", "A piece of the answer, as the model produced it.", (t) => ({
  answer: t.string({ resolve: (e: any) => e.answer }),
}));
const AgentThoughtEvent = eventType("AgentThoughtEvent", "agent_thought", "An agent's reasoning step (agent-chat apps).", (t) => ({
  thoughtId: t.id({ resolve: (e: any) => e.id }),
  position: t.int({ resolve: (e: any) => e.position }),
  thought: t.string({ resolve: (e: any) => e.thought }),
  observation: t.string({ resolve: (e: any) => e.observation }),
  tool: t.string({ resolve: (e: any) => e.tool }),
  toolInput: t.string({ resolve: (e: any) => e.toolInput }),
}));
const MessageReplace = eventType("MessageReplace", "message_replace", "The whole answer replaced, e.g. by output moderation.", (t) => ({
  answer: t.string({ resolve: (e: any) => e.answer }),
  reason: t.string({ resolve: (e: any) => e.reason }),
}));

const MessageEnd = eventType("MessageEnd", "message_end", "The answer is complete and saved.", (t) => ({
  usage: t.field({ type: UsageRef, resolve: (e: any) => e.usage }),
  files: t.field({ type: [MessageFileRef], description: "The message's files (the user's, for chat and completion apps).", resolve: (e: any) => e.files ?? [] }),
  message: t.field({
    type: MessageRef,
    description: "The saved message.",
    resolve: async (e: any, _args: unknown, ctx: GraphQLContext) => ctx.services.messages.get(await ctx.viewer(), e.messageId),
  }),
}));
const SpokenAnswerChunk = eventType(
  "SpokenAnswerChunk",
  "tts_message",
  "A piece of the answer spoken, as it streams (apps whose text_to_speech auto-plays): MP3 bytes, in order; concatenated they make one MP3.",
  (t) => ({
    audio: t.string({ description: "The MP3 bytes, base64 (RFC 4648, with padding).", resolve: (e: any) => e.audio }),
  }),
);
const SpokenAnswerEnd = eventType(
  "SpokenAnswerEnd",
  "tts_message_end",
  "The spoken answer is complete (after MessageEnd; in chatflows before WorkflowFinished).",
);
const GenerationFailed = eventType("GenerationFailed", "error", "The generation failed; the message is saved with status error.", (t) => ({
  code: t.string({ resolve: (e: any) => e.code }),
  message: t.string({ resolve: (e: any) => e.message }),
  status: t.int({ resolve: (e: any) => e.status }),
}));

const GENERATION_TYPE_NAMES: Record<string, string> = {
  message: "MessageDelta",
  agent_thought: "AgentThoughtEvent",
  message_replace: "MessageReplace",
  message_end: "MessageEnd",
  tts_message: "SpokenAnswerChunk",
  tts_message_end: "SpokenAnswerEnd",
  error: "GenerationFailed",
};

// A chatflow turn's events that are its message's, not its run's: typed as a chat's.
const MESSAGE_EVENTS = new Set(["message", "message_end", "tts_message", "tts_message_end"]);

export const GenerationEventUnion = builder.unionType("GenerationStreamEvent", {
  description:
    "What a generation subscription yields: its events, or an AppError when it could not start. " +
    "Chatflow (advanced-chat) apps also stream their workflow's events.",
  types: [MessageDelta, AgentThoughtEvent, MessageReplace, MessageEnd, SpokenAnswerChunk, SpokenAnswerEnd, GenerationFailed, ...WORKFLOW_EVENT_TYPES, AppError],
  resolveType: (value) => {
    if (value instanceof AppError || (value as unknown as AppErrorValue).__typename === "AppError") return "AppError";
    const event = value as { type: string; runId?: string };
    if (event.runId && !MESSAGE_EVENTS.has(event.type)) return WORKFLOW_TYPE_NAMES[event.type] ?? "RunFailed";
    return GENERATION_TYPE_NAMES[event.type];
  },
});

const ChatMessageInput = builder.inputType("ChatMessageInput", {
  fields: (t) => ({
    query: t.string({ required: true }),
    inputs: t.field({ type: "JSON", description: "Values for the app's user input form." }),
    conversationId: t.id({ description: "Continue this conversation; omit to start one." }),
    parentMessageId: t.id({ description: "Answer after this message (regenerate); default: the latest." }),
    files: t.field({ type: [FileInput], description: "Files for the model to see (when the app takes them)." }),
  }),
});

const CompletionMessageInput = builder.inputType("CompletionMessageInput", {
  fields: (t) => ({
    query: t.string(),
    inputs: t.field({ type: "JSON" }),
    files: t.field({ type: [FileInput], description: "Files for the model to see (when the app takes them)." }),
  }),
});

const completionRequest = (input: { query?: string | null; inputs?: unknown; files?: Parameters<typeof fileReferences>[0] }) => ({
  query: input.query,
  inputs: input.inputs ?? {},
  files: fileReferences(input.files),
});

const chatRequest = (input: {
  query: string;
  inputs?: unknown;
  conversationId?: string | number | null;
  parentMessageId?: string | number | null;
  files?: Parameters<typeof fileReferences>[0];
}) => ({
  query: input.query,
  inputs: input.inputs ?? {},
  conversationId: recordId(input.conversationId, "Conversation"),
  parentMessageId: recordId(input.parentMessageId, "Message"),
  files: fileReferences(input.files),
});

const eventsOf = (start: () => Promise<GenerationTask>) => async () => (await start()).events;
// Subscriptions stream: their answers are spoken as they grow when the app auto-plays speech.
const streamed = <T extends object>(request: T) => ({ ...request, streaming: true });

builder.subscriptionType({});

builder.subscriptionField("chatMessage", (t) =>
  t.field({
    type: GenerationEventUnion,
    description: "Send a message to a chat, agent-chat or chatflow app and stream the answer.",
    args: { input: t.arg({ type: ChatMessageInput, required: true }) },
    subscribe: (_root, { input }, ctx) => subscriptionStream(eventsOf(async () => ctx.services.generations.sendChatMessage(await ctx.viewer(), streamed(chatRequest(input))))),
    resolve: (event) => event as AppError, // events and AppErrorValues, told apart by the union
  }),
);

builder.subscriptionField("completionMessage", (t) =>
  t.field({
    type: GenerationEventUnion,
    description: "Run a completion app and stream the answer.",
    args: { input: t.arg({ type: CompletionMessageInput, required: true }) },
    subscribe: (_root, { input }, ctx) =>
      subscriptionStream(eventsOf(async () => ctx.services.generations.sendCompletionMessage(await ctx.viewer(), streamed(completionRequest(input))))),
    resolve: (event) => event as AppError,
  }),
);

builder.subscriptionField("taskEvents", (t) =>
  t.field({
    type: GenerationEventUnion,
    description: "Resume a generation you started: the events after `after` (a seq), replayed, then live.",
    args: { taskId: t.arg.id({ required: true }), after: t.arg.int({ defaultValue: 0 }) },
    subscribe: (_root, { taskId, after }, ctx) =>
      subscriptionStream(async () => ctx.services.generations.follow(await ctx.viewer(), String(taskId), after ?? 0)),
    resolve: (event) => event as AppError,
  }),
);

const GenerationResultRef = builder.objectRef<GenerationResult>("GenerationResult").implement({
  description: "A finished generation (blocking mode).",
  fields: (t) => ({
    taskId: t.id({ resolve: (r) => r.taskId }),
    messageId: t.id({ description: "The message's global id.", resolve: (r) => globalId("Message", r.messageId) }),
    conversationId: t.id({ nullable: true, resolve: (r) => (r.conversationId ? globalId("Conversation", r.conversationId) : null) }),
    answer: t.string({ resolve: (r) => r.answer }),
    usage: t.field({ type: UsageRef, resolve: (r) => r.usage }),
    createdAt: t.field({ type: "DateTime", resolve: (r) => r.createdAt }),
    message: t.field({
      type: MessageRef,
      description: "The saved message.",
      resolve: async (r, _args, ctx) => ctx.services.messages.get(await ctx.viewer(), r.messageId),
    }),
  }),
});

builder.mutationFields((t) => ({
  sendChatMessage: t.field({
    type: GenerationResultRef,
    description: "Send a message and wait for the whole answer (blocking mode).",
    errors: {},
    args: { input: t.arg({ type: ChatMessageInput, required: true }) },
    resolve: async (_root, { input }, ctx) => (await ctx.services.generations.sendChatMessage(await ctx.viewer(), chatRequest(input))).result,
  }),
  sendCompletionMessage: t.field({
    type: GenerationResultRef,
    errors: {},
    args: { input: t.arg({ type: CompletionMessageInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      (await ctx.services.generations.sendCompletionMessage(await ctx.viewer(), completionRequest(input))).result,
  }),
  moreLikeThis: t.field({
    type: GenerationResultRef,
    description: "Another answer to a completion message's inputs (when the app enables it).",
    errors: {},
    args: { messageId: t.arg.id({ required: true }) },
    resolve: async (_root, { messageId }, ctx) =>
      (await ctx.services.generations.moreLikeThis(await ctx.viewer(), recordId(messageId, "Message")!)).result,
  }),
  stopGeneration: t.boolean({
    description: "Stop a generation you started. False when there was nothing of yours to stop.",
    errors: { directResult: false, dataField: { name: "stopped" } },
    args: { taskId: t.arg.id({ required: true }) },
    resolve: async (_root, { taskId }, ctx) => ctx.services.generations.stop(await ctx.viewer(), String(taskId)),
  }),
}));

builder.queryField("suggestedQuestions", (t) =>
  t.stringList({
    description: "Follow-up questions the model suggests after a message (chat apps that enable it).",
    errors: { directResult: false, dataField: { name: "questions" } },
    args: { messageId: t.arg.id({ required: true }) },
    resolve: async (_root, { messageId }, ctx) => ctx.services.generations.suggestedQuestions(await ctx.viewer(), recordId(messageId, "Message")!),
  }),
);
