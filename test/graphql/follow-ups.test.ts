// The use cases that REST tests cover in test/generation/follow-ups.rest.test.ts and test/workflows, over
// GraphQL: more like this, suggested questions, stopping a completion and a workflow run, unpinning.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { gqlSseEvents } from "../support/graphql.js";
import { localId } from "../support/ids.js";
import { waitFor } from "../support/sse.js";
import { startTestServer, type TestServer } from "../support/server.js";

describe("follow-ups over GraphQL", () => {
  let fake: FakeOpenAI;
  let s: TestServer;
  let chatToken: string;
  let completionToken: string;
  const inputs = { traveller: "Ana", destination: "Quito" };

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    s = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl });
    chatToken = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
    completionToken = await s.passport((await s.importApp("apps/completion-slogan-writer.yml")).code);
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.setTokenDelay(0);
    fake.setReply((body) => `Echo: ${body.messages.at(-1).content}`);
  });

  const gql = (query: string, variables: Record<string, unknown>, token: string) => s.graphql(query, variables, { authorization: `Bearer ${token}` });

  it("generates more like this from a completion message, for its owner and on completion apps only", async () => {
    const sent = await gql(`mutation { sendCompletionMessage(input: { inputs: { product: "kites", tone: "serious" } }) { ... on GenerationResult { messageId } } }`, {}, completionToken);
    const original = sent.data.sendCompletionMessage.messageId;
    fake.setReply(() => "Fly higher.");
    const MORE = `mutation($m: ID!) { moreLikeThis(messageId: $m) { __typename ... on GenerationResult { messageId answer } ... on AppError { code } } }`;
    const more = await gql(MORE, { m: original }, completionToken);
    expect(more.data.moreLikeThis).toMatchObject({ __typename: "GenerationResult", answer: "Fly higher." });
    expect(more.data.moreLikeThis.messageId).not.toBe(original);
    expect(fake.requests.at(-1)!.body.messages.at(-1).content).toBe("Write a slogan for kites in a serious tone.");
    const stranger = await s.passport((await s.rt.db.site.findFirstOrThrow({ where: { app: { mode: "completion" } } })).code);
    expect((await gql(MORE, { m: original }, stranger)).data.moreLikeThis).toEqual({ __typename: "AppError", code: "not_found" });
    expect((await gql(MORE, { m: original }, chatToken)).data.moreLikeThis).toEqual({ __typename: "AppError", code: "not_completion_app" });
  });

  it("suggests follow-up questions after an answer, for its owner only", async () => {
    const sent = await gql(`mutation($i: ChatMessageInput!) { sendChatMessage(input: $i) { ... on GenerationResult { messageId } } }`, { i: { query: "What is Quito like?", inputs } }, chatToken);
    const messageId = sent.data.sendChatMessage.messageId;
    fake.setReply(() => 'Sure: ["Best food?","Altitude?","When to go?"]');
    const SUGGEST = `query($m: ID!) { suggestedQuestions(messageId: $m) { __typename ... on SuggestedQuestionsPayload { questions } ... on AppError { code } } }`;
    expect((await gql(SUGGEST, { m: messageId }, chatToken)).data.suggestedQuestions).toEqual({
      __typename: "SuggestedQuestionsPayload",
      questions: ["Best food?", "Altitude?", "When to go?"],
    });
    expect(fake.requests.at(-1)!.body.messages[0].content).toContain("Human: What is Quito like?");
    const stranger = await s.passport((await s.rt.db.site.findFirstOrThrow({ where: { app: { mode: "chat" } } })).code);
    expect((await gql(SUGGEST, { m: messageId }, stranger)).data.suggestedQuestions).toEqual({ __typename: "AppError", code: "not_found" });
  });

  it("unpins a conversation, and lists it among the unpinned again", async () => {
    const sent = await gql(`mutation($i: ChatMessageInput!) { sendChatMessage(input: $i) { ... on GenerationResult { conversationId } } }`, { i: { query: "pin me", inputs } }, chatToken);
    const id = sent.data.sendChatMessage.conversationId;
    await gql(`mutation($id: ID!) { pinConversation(id: $id) { __typename } }`, { id }, chatToken);
    const pinned = async () => (await gql(`{ conversations(pinned: true) { edges { node { id } } } }`, {}, chatToken)).data.conversations.edges.map((e: any) => e.node.id);
    expect(await pinned()).toContain(id);
    const unpin = await gql(`mutation($id: ID!) { unpinConversation(id: $id) { __typename ... on UnpinConversationPayload { done } } }`, { id }, chatToken);
    expect(unpin.data.unpinConversation).toEqual({ __typename: "UnpinConversationPayload", done: true });
    expect(await pinned()).not.toContain(id);
  });

  it("stops a completion and a workflow run for their owners", async () => {
    const STOP = `mutation($t: ID!) { stopGeneration(taskId: $t) { ... on StopGenerationPayload { stopped } ... on AppError { code } } }`;
    const STOP_RUN = `mutation($t: ID!) { stopWorkflowRun(taskId: $t) { ... on StopWorkflowRunPayload { stopped } ... on AppError { code } } }`;
    fake.setReply(() => Array.from({ length: 40 }, (_, i) => `w${i}`).join(" "));
    fake.setTokenDelay(25);

    // A completion, started over SSE and stopped once its first words arrive.
    const completionEvents = gqlSseEvents(
      s,
      `subscription { completionMessage(input: { inputs: { product: "tea" } }) { __typename ... on GenerationEvent { taskId messageId } } }`,
      {},
      { token: completionToken },
    );
    const first = (await completionEvents.next()).value;
    expect((await gql(STOP, { t: first.taskId }, chatToken)).data.stopGeneration).toEqual({ stopped: false });
    expect((await gql(STOP, { t: first.taskId }, completionToken)).data.stopGeneration).toEqual({ stopped: true });
    await completionEvents.return(undefined); // the client goes away; the stopped task still saves its answer
    // The task saves the partial answer when it ends.
    const saved = await waitFor(async () => {
      const row = await s.rt.db.message.findUnique({ where: { id: localId(first.messageId) } });
      return row?.answer ? row : null;
    }, 20_000);
    expect(saved.answer.split(" ").length).toBeLessThan(40);

    // A workflow run, the same way.
    const workflowToken = await s.passport((await s.importApp("dsl-corpus/workflow-basic-llm-openai.yml")).code);
    const events = gqlSseEvents(
      s,
      `subscription { workflowRun(input: { inputs: { query: "long" } }) { __typename ... on WorkflowEvent { taskId runId } ... on WorkflowFinished { status } } }`,
      {},
      { token: workflowToken },
    );
    const started = (await events.next()).value;
    expect((await gql(STOP_RUN, { t: started.taskId }, completionToken)).data.stopWorkflowRun).toEqual({ code: "not_workflow_app" });
    expect((await gql(STOP_RUN, { t: started.taskId }, await s.passport((await s.rt.db.site.findFirstOrThrow({ where: { app: { mode: "workflow" } } })).code))).data.stopWorkflowRun).toEqual({ stopped: false });
    expect((await gql(STOP_RUN, { t: started.taskId }, workflowToken)).data.stopWorkflowRun).toEqual({ stopped: true });
    let last: any;
    for await (const e of events) last = e;
    expect(last).toMatchObject({ __typename: "WorkflowFinished", status: "stopped" });
    expect((await s.rt.db.workflowRun.findUniqueOrThrow({ where: { id: localId(started.runId) } })).status).toBe("stopped");
  });
});
