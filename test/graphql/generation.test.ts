// Generations over GraphQL: subscriptions over graphql-ws and SSE, blocking mutations, stop, resume.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { gqlSse, gqlWs, wsEvents, type GqlEvent } from "../support/graphql.js";
import { waitFor } from "../support/sse.js";
import { localId } from "../support/ids.js";
import { startTestServer, taskBackends, type TestServer } from "../support/server.js";

const EVENT_FIELDS = `__typename
  ... on GenerationEvent { seq taskId messageId conversationId createdAt }
  ... on MessageDelta { answer }
  ... on AgentThoughtEvent { thought position }
  ... on MessageReplace { answer reason }
  ... on MessageEnd { usage { promptTokens completionTokens totalTokens } }
  ... on GenerationFailed { code message status }
  ... on AppError { code message status params }`;

const CHAT = `subscription($input: ChatMessageInput!) { chatMessage(input: $input) { ${EVENT_FIELDS} } }`;
const COMPLETION = `subscription($input: CompletionMessageInput!) { completionMessage(input: $input) { ${EVENT_FIELDS} } }`;
const RESUME = `subscription($taskId: ID!, $after: Int) { taskEvents(taskId: $taskId, after: $after) { ${EVENT_FIELDS} } }`;

const answerOf = (events: GqlEvent[]) => events.filter((e) => e.__typename === "MessageDelta").map((e) => e.answer).join("");

describe.each(taskBackends)("generation over GraphQL on %s", (_name, backend, taskEnv) => {
  let fake: FakeOpenAI;
  let s: TestServer;
  let chat: { code: string };
  let completion: { code: string };
  let token: string;
  const inputs = { traveller: "Bo", destination: "Lisbon" };

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    s = await startTestServer(backend, { OPENAI_BASE_URL: fake.baseUrl, ...taskEnv });
    chat = await s.importApp("apps/chat-travel-planner.yml");
    completion = await s.importApp("apps/completion-slogan-writer.yml");
    token = await s.passport(chat.code);
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.setTokenDelay(0);
    fake.setReply((body) => `Echo: ${body.messages.at(-1).content}`);
  });

  const ws = (passport: string) => gqlWs(s, { token: passport });
  const overSse = (query: string, variables: Record<string, unknown>, passport: string | null = token) => gqlSse(s, query, variables, { token: passport });

  it("streams a chat answer over graphql-ws, ending with the saved message", async () => {
    const client = ws(token);
    try {
      const events = await wsEvents(client, CHAT, { input: { query: "hello there", inputs } });
      expect(events.map((e) => e.__typename).at(-1)).toBe("MessageEnd");
      expect(answerOf(events)).toBe("Echo: hello there");
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      const end = events.at(-1)!;
      expect(end.usage.totalTokens).toBe(end.usage.promptTokens + end.usage.completionTokens);
      const saved = await s.rt.db.message.findUniqueOrThrow({ where: { id: localId(end.messageId) } });
      expect(saved).toMatchObject({ answer: "Echo: hello there", conversationId: localId(end.conversationId) });
    } finally {
      await client.dispose();
    }
  });

  it("streams over SSE too, and completion apps the same way", async () => {
    const events = await overSse(CHAT, { input: { query: "over sse", inputs } });
    expect(answerOf(events)).toBe("Echo: over sse");
    expect(events.at(-1)?.__typename).toBe("MessageEnd");
    const ctoken = await s.passport(completion.code);
    const cevents = await overSse(COMPLETION, { input: { inputs: { product: "jam" } } }, ctoken);
    expect(answerOf(cevents)).toBe("Echo: Write a slogan for jam in a  tone.");
    expect(cevents.every((e) => e.conversationId === null)).toBe(true);
  });

  it("yields a typed AppError when the generation cannot start", async () => {
    const events = await overSse(CHAT, { input: { query: "hi", inputs: { destination: "Mars" } } });
    expect(events).toEqual([{ __typename: "AppError", code: "invalid_param", message: "traveller is required in input form", status: 400, params: "traveller" }]);
    const wrongMode = await overSse(COMPLETION, { input: { inputs: {} } });
    expect(wrongMode[0]).toMatchObject({ __typename: "AppError", code: "not_completion_app" });
    const noPassport = await overSse(CHAT, { input: { query: "hi" } }, null);
    expect(noPassport[0]).toMatchObject({ __typename: "AppError", code: "unauthorized" });
  });

  it("reports a failed model call as GenerationFailed", async () => {
    fake.setReply(() => ({ error: { status: 401, message: "bad key" } }));
    const events = await overSse(CHAT, { input: { query: "hi", inputs } });
    expect(events.at(-1)).toMatchObject({ __typename: "GenerationFailed", code: "provider_not_initialize", status: 400 });
  });

  it("leaves the task running when the client unsubscribes, and resumes with taskEvents", async () => {
    const words = Array.from({ length: 15 }, (_, i) => `g${i}`).join(" ");
    fake.setReply(() => words);
    fake.setTokenDelay(20);
    const client = ws(token);
    try {
      const first = await wsEvents(client, CHAT, { input: { query: "leave early", inputs } }, { until: (_e, all) => all.length === 2 });
      const { taskId, messageId } = first[0];
      await waitFor(async () => (await s.rt.db.message.findUniqueOrThrow({ where: { id: localId(messageId) } })).answer === words);
      const rest = await wsEvents(client, RESUME, { taskId, after: 2 });
      expect(rest[0].seq).toBe(3);
      expect(answerOf([...first, ...rest])).toBe(words);
      const stranger = ws(await s.passport(chat.code));
      try {
        expect(await wsEvents(stranger, RESUME, { taskId })).toEqual([expect.objectContaining({ __typename: "AppError", code: "not_found" })]);
      } finally {
        await stranger.dispose();
      }
    } finally {
      await client.dispose();
    }
  });

  it("stops a generation with stopGeneration (owner only)", async () => {
    fake.setReply(() => Array.from({ length: 40 }, (_, i) => `s${i}`).join(" "));
    fake.setTokenDelay(25);
    const client = ws(token);
    const stranger = await s.passport(chat.code);
    const STOP = `mutation($id: ID!) { stopGeneration(taskId: $id) { __typename ... on StopGenerationPayload { stopped } ... on AppError { code } } }`;
    try {
      const events = await wsEvents(client, CHAT, { input: { query: "stop me", inputs } }, {
        until: async (e, all) => {
          if (all.length !== 3) return;
          expect((await s.graphql(STOP, { id: e.taskId }, { authorization: `Bearer ${stranger}` })).data.stopGeneration.stopped).toBe(false);
          expect((await s.graphql(STOP, { id: e.taskId }, { authorization: `Bearer ${token}` })).data.stopGeneration.stopped).toBe(true);
        },
      });
      expect(events.at(-1)?.__typename).toBe("MessageEnd");
      expect(answerOf(events).split(" ").length).toBeLessThan(40);
    } finally {
      await client.dispose();
    }
  });

  it("answers blocking mutations with the finished generation or a typed error", async () => {
    const SEND = `mutation($input: ChatMessageInput!) { sendChatMessage(input: $input) {
      __typename ... on GenerationResult { answer messageId conversationId usage { totalTokens } } ... on AppError { code params } } }`;
    const auth = { authorization: `Bearer ${token}` };
    const ok = await s.graphql(SEND, { input: { query: "blocking", inputs } }, auth);
    expect(ok.data.sendChatMessage).toMatchObject({ __typename: "GenerationResult", answer: "Echo: blocking" });
    const again = await s.graphql(SEND, { input: { query: "next", conversationId: ok.data.sendChatMessage.conversationId } }, auth);
    expect(again.data.sendChatMessage.conversationId).toBe(ok.data.sendChatMessage.conversationId);
    const bad = await s.graphql(SEND, { input: { query: "x", inputs: { traveller: "Bo", destination: "Oslo" } } }, auth);
    expect(bad.data.sendChatMessage).toEqual({ __typename: "AppError", code: "invalid_param", params: "destination" });
    fake.setReply(() => ({ error: { status: 500, message: "boom" } }));
    const failed = await s.graphql(SEND, { input: { query: "x", inputs } }, auth);
    expect(failed.data.sendChatMessage).toMatchObject({ __typename: "AppError", code: "completion_request_error" });
  });
});
