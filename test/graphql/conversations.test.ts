// Conversations, messages, feedback and saved messages over GraphQL, on the same core as REST.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";

describe.each(backends)("conversations over GraphQL on %s", (backend) => {
  let fake: FakeOpenAI;
  let s: TestServer;
  let token: string;
  let stranger: string;
  let completionToken: string;
  const inputs = { traveller: "Cy", destination: "Kyoto" };

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    s = await startTestServer(backend, { OPENAI_BASE_URL: fake.baseUrl });
    const chat = await s.importApp("apps/chat-travel-planner.yml");
    token = await s.passport(chat.code);
    stranger = await s.passport(chat.code);
    completionToken = await s.passport((await s.importApp("apps/completion-slogan-writer.yml")).code);
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });

  const gql = (query: string, variables: Record<string, unknown> = {}, passport = token) => s.graphql(query, variables, { authorization: `Bearer ${passport}` });
  const send = async (query: string, conversationId?: string) =>
    (await gql(`mutation($i: ChatMessageInput!) { sendChatMessage(input: $i) { ... on GenerationResult { messageId conversationId } } }`, {
      i: { query, inputs, conversationId },
    })).data.sendChatMessage;

  it("lists conversations as a Relay connection, pinned filter and paging included", async () => {
    const a = await send("first conversation");
    const b = await send("second conversation");
    const c = await send("third conversation");
    const page = await gql(`{ conversations(first: 2) { edges { cursor node { id name } } pageInfo { hasNextPage endCursor } } }`);
    expect(page.data.conversations.edges.map((e: any) => e.node.id)).toEqual([c.conversationId, b.conversationId]);
    expect(page.data.conversations.pageInfo).toEqual({ hasNextPage: true, endCursor: b.conversationId });
    const rest = await gql(`query($after: String) { conversations(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage } } }`, {
      after: page.data.conversations.pageInfo.endCursor,
    });
    expect(rest.data.conversations.edges.map((e: any) => e.node.id)).toContain(a.conversationId);

    const pin = await gql(`mutation($id: ID!) { pinConversation(id: $id) { __typename ... on MutationPinConversationSuccess { data } } }`, { id: a.conversationId });
    expect(pin.data.pinConversation.data).toBe(true);
    const pinned = await gql(`{ conversations(pinned: true) { edges { node { id } } } }`);
    expect(pinned.data.conversations.edges.map((e: any) => e.node.id)).toEqual([a.conversationId]);
    const oldest = await gql(`{ conversations(first: 1, sortBy: CREATED_AT) { edges { node { name } } } }`);
    expect(oldest.data.conversations.edges[0].node.name).toBe("first conversation");
    expect((await gql(`{ conversations { edges { node { id } } } }`, {}, stranger)).data.conversations.edges).toEqual([]);
  });

  it("pages a conversation's messages backwards, oldest first within a page, with parents and feedback", async () => {
    const first = await send("one");
    const second = await send("two", first.conversationId);
    const third = await send("three", first.conversationId);
    const rate = await gql(`mutation($m: ID!) { rateMessage(messageId: $m, rating: LIKE) { ... on MutationRateMessageSuccess { data } ... on AppError { code } } }`, { m: second.messageId });
    expect(rate.data.rateMessage.data).toBe(true);
    const Q = `query($id: ID!, $before: String) { conversation(id: $id) { ... on Conversation { name
      messages(last: 2, before: $before) { edges { node { id query parentMessageId feedback } } pageInfo { hasPreviousPage startCursor } } } } }`;
    const latest = (await gql(Q, { id: first.conversationId })).data.conversation;
    expect(latest.messages.edges.map((e: any) => e.node)).toEqual([
      { id: second.messageId, query: "two", parentMessageId: first.messageId, feedback: "LIKE" },
      { id: third.messageId, query: "three", parentMessageId: second.messageId, feedback: null },
    ]);
    expect(latest.messages.pageInfo).toEqual({ hasPreviousPage: true, startCursor: second.messageId });
    const older = (await gql(Q, { id: first.conversationId, before: second.messageId })).data.conversation;
    expect(older.messages.edges.map((e: any) => e.node.query)).toEqual(["one"]);
    expect(older.messages.pageInfo.hasPreviousPage).toBe(false);
    const hidden = await gql(`query($id: ID!) { conversation(id: $id) { __typename ... on AppError { code } } }`, { id: first.conversationId }, stranger);
    expect(hidden.data.conversation).toEqual({ __typename: "AppError", code: "not_found" });
    const hiddenMessage = await gql(`query($id: ID!) { message(id: $id) { __typename ... on AppError { code } } }`, { id: second.messageId }, stranger);
    expect(hiddenMessage.data.message).toEqual({ __typename: "AppError", code: "not_found" });
  });

  it("renames (by hand and by the model), unpins and deletes, with typed errors", async () => {
    const c = await send("a conversation to rename");
    const RENAME = `mutation($id: ID!, $name: String, $auto: Boolean) { renameConversation(id: $id, name: $name, autoGenerate: $auto) {
      __typename ... on Conversation { name } ... on AppError { code params } } }`;
    expect((await gql(RENAME, { id: c.conversationId, name: "Trip ideas" })).data.renameConversation).toEqual({ __typename: "Conversation", name: "Trip ideas" });
    fake.setReply(() => '"Kyoto in spring"');
    expect((await gql(RENAME, { id: c.conversationId, auto: true })).data.renameConversation.name).toBe("Kyoto in spring");
    fake.setReply((body) => `Echo: ${body.messages.at(-1).content}`);
    expect((await gql(RENAME, { id: c.conversationId, name: "  " })).data.renameConversation).toMatchObject({ __typename: "AppError", code: "invalid_param" });
    expect((await gql(RENAME, { id: c.conversationId, name: "mine now" }, stranger)).data.renameConversation).toMatchObject({ code: "not_found" });
    const DELETE = `mutation($id: ID!) { deleteConversation(id: $id) { __typename ... on AppError { code } } }`;
    expect((await gql(DELETE, { id: c.conversationId }, stranger)).data.deleteConversation).toEqual({ __typename: "AppError", code: "not_found" });
    expect((await gql(DELETE, { id: c.conversationId })).data.deleteConversation.__typename).toBe("MutationDeleteConversationSuccess");
    expect((await gql(`query($id: ID!) { conversation(id: $id) { __typename } }`, { id: c.conversationId })).data.conversation.__typename).toBe("AppError");
  });

  it("saves and unsaves completion messages", async () => {
    const sent = await gql(`mutation { sendCompletionMessage(input: { inputs: { product: "socks" } }) { ... on GenerationResult { messageId } } }`, {}, completionToken);
    const id = sent.data.sendCompletionMessage.messageId;
    const SAVE = `mutation($m: ID!) { saveMessage(messageId: $m) { __typename ... on AppError { code } } }`;
    expect((await gql(SAVE, { m: id }, completionToken)).data.saveMessage.__typename).toBe("MutationSaveMessageSuccess");
    const saved = await gql(`{ savedMessages { edges { node { id query answer } } } }`, {}, completionToken);
    expect(saved.data.savedMessages.edges.map((e: any) => e.node.id)).toEqual([id]);
    await gql(`mutation($m: ID!) { unsaveMessage(messageId: $m) { __typename } }`, { m: id }, completionToken);
    expect((await gql(`{ savedMessages { edges { node { id } } } }`, {}, completionToken)).data.savedMessages.edges).toEqual([]);
    expect((await gql(SAVE, { m: id })).data.saveMessage).toEqual({ __typename: "AppError", code: "not_completion_app" });
  });

  it("ends a chat subscription with the saved message", async () => {
    const res = await fetch(`${s.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: `subscription($i: ChatMessageInput!) { chatMessage(input: $i) { __typename ... on MessageEnd { message { id query answer conversationId } } } }`,
        variables: { i: { query: "end with the message", inputs } },
      }),
    });
    const frames = (await res.text()).split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6)));
    const end = frames.map((f) => f.data?.chatMessage).filter(Boolean).at(-1);
    expect(end).toMatchObject({ __typename: "MessageEnd", message: { query: "end with the message", answer: "Echo: end with the message" } });
  });
});
