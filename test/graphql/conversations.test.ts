// Conversations, messages, feedback and saved messages over GraphQL, on the same core as REST.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { gqlSse } from "../support/graphql.js";
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
    expect(page.data.conversations.pageInfo).toEqual({ hasNextPage: true, endCursor: page.data.conversations.edges[1].cursor });
    const rest = await gql(`query($after: String) { conversations(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage } } }`, {
      after: page.data.conversations.pageInfo.endCursor,
    });
    expect(rest.data.conversations.edges.map((e: any) => e.node.id)).toContain(a.conversationId);

    const pin = await gql(`mutation($id: ID!) { pinConversation(id: $id) { __typename ... on PinConversationPayload { conversation { id } } } }`, { id: a.conversationId });
    expect(pin.data.pinConversation).toEqual({ __typename: "PinConversationPayload", conversation: { id: a.conversationId } });
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
    const rate = await gql(`mutation($m: ID!) { rateMessage(messageId: $m, rating: LIKE) { ... on RateMessagePayload { message { id feedback } } ... on AppError { code } } }`, { m: second.messageId });
    expect(rate.data.rateMessage.message).toEqual({ id: second.messageId, feedback: "LIKE" });
    const Q = `query($id: ID!, $before: String) { conversation(id: $id) { ... on Conversation { name
      messages(last: 2, before: $before) { edges { node { id query parentMessageId feedback } } pageInfo { hasPreviousPage startCursor } } } } }`;
    const latest = (await gql(Q, { id: first.conversationId })).data.conversation;
    expect(latest.messages.edges.map((e: any) => e.node)).toEqual([
      { id: second.messageId, query: "two", parentMessageId: first.messageId, feedback: "LIKE" },
      { id: third.messageId, query: "three", parentMessageId: second.messageId, feedback: null },
    ]);
    expect(latest.messages.pageInfo.hasPreviousPage).toBe(true);
    const older = (await gql(Q, { id: first.conversationId, before: latest.messages.pageInfo.startCursor })).data.conversation;
    expect(older.messages.edges.map((e: any) => e.node.query)).toEqual(["one"]);
    // A message's id works as a cursor too.
    const olderById = (await gql(Q, { id: first.conversationId, before: second.messageId })).data.conversation;
    expect(olderById.messages.edges.map((e: any) => e.node.query)).toEqual(["one"]);
    expect(older.messages.pageInfo.hasPreviousPage).toBe(false);
    const hidden = await gql(`query($id: ID!) { conversation(id: $id) { __typename ... on AppError { code } } }`, { id: first.conversationId }, stranger);
    expect(hidden.data.conversation).toEqual({ __typename: "AppError", code: "not_found" });
    const hiddenMessage = await gql(`query($id: ID!) { message(id: $id) { __typename ... on AppError { code } } }`, { id: second.messageId }, stranger);
    expect(hiddenMessage.data.message).toEqual({ __typename: "AppError", code: "not_found" });
  });

  it("renames (by hand and by the model), unpins and deletes, with typed errors", async () => {
    const c = await send("a conversation to rename");
    const RENAME = `mutation($id: ID!, $name: String, $auto: Boolean) { renameConversation(id: $id, name: $name, autoGenerate: $auto) {
      __typename ... on RenameConversationPayload { conversation { name } } ... on AppError { code params } } }`;
    expect((await gql(RENAME, { id: c.conversationId, name: "Trip ideas" })).data.renameConversation).toEqual({
      __typename: "RenameConversationPayload",
      conversation: { name: "Trip ideas" },
    });
    fake.setReply(() => '{"Language Type": "English", "Your Reasoning": "A trip.", "Your Output": "Kyoto in spring"}');
    expect((await gql(RENAME, { id: c.conversationId, auto: true })).data.renameConversation.conversation.name).toBe("Kyoto in spring");
    fake.setReply((body) => `Echo: ${body.messages.at(-1).content}`);
    expect((await gql(RENAME, { id: c.conversationId, name: "  " })).data.renameConversation).toMatchObject({ __typename: "AppError", code: "invalid_param" });
    expect((await gql(RENAME, { id: c.conversationId, name: "mine now" }, stranger)).data.renameConversation).toMatchObject({ code: "not_found" });
    const DELETE = `mutation($id: ID!) { deleteConversation(id: $id) { __typename ... on DeleteConversationPayload { deletedId } ... on AppError { code } } }`;
    expect((await gql(DELETE, { id: c.conversationId }, stranger)).data.deleteConversation).toEqual({ __typename: "AppError", code: "not_found" });
    expect((await gql(DELETE, { id: c.conversationId })).data.deleteConversation).toEqual({ __typename: "DeleteConversationPayload", deletedId: c.conversationId });
    expect((await gql(`query($id: ID!) { conversation(id: $id) { __typename } }`, { id: c.conversationId })).data.conversation.__typename).toBe("AppError");
  });

  it("saves and unsaves completion messages", async () => {
    const sent = await gql(`mutation { sendCompletionMessage(input: { inputs: { product: "socks" } }) { ... on GenerationResult { messageId } } }`, {}, completionToken);
    const id = sent.data.sendCompletionMessage.messageId;
    const SAVE = `mutation($m: ID!) { saveMessage(messageId: $m) { __typename ... on AppError { code } } }`;
    expect((await gql(SAVE, { m: id }, completionToken)).data.saveMessage.__typename).toBe("SaveMessagePayload");
    const saved = await gql(`{ savedMessages { edges { node { id query answer } } } }`, {}, completionToken);
    expect(saved.data.savedMessages.edges.map((e: any) => e.node.id)).toEqual([id]);
    await gql(`mutation($m: ID!) { unsaveMessage(messageId: $m) { __typename } }`, { m: id }, completionToken);
    expect((await gql(`{ savedMessages { edges { node { id } } } }`, {}, completionToken)).data.savedMessages.edges).toEqual([]);
    expect((await gql(SAVE, { m: id })).data.saveMessage).toEqual({ __typename: "AppError", code: "not_completion_app" });
  });

  it("ends a chat subscription with the saved message", async () => {
    const events = await gqlSse(
      s,
      `subscription($i: ChatMessageInput!) { chatMessage(input: $i) { __typename ... on MessageEnd { message { id query answer conversationId } } } }`,
      { i: { query: "end with the message", inputs } },
      { token },
    );
    const end = events.at(-1);
    expect(end).toMatchObject({ __typename: "MessageEnd", message: { query: "end with the message", answer: "Echo: end with the message" } });
  });

  it("gives conversations, messages and runs owner-scoped global ids, and takes UUIDs too", async () => {
    const sent = await send("a node of mine");
    const uuid = Buffer.from(sent.conversationId, "base64").toString("utf8").replace(/^Conversation:/, "");
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    const NODE = `query($id: ID!) { node(id: $id) { __typename id ... on Conversation { name } ... on Message { query } } }`;
    expect((await gql(NODE, { id: sent.conversationId })).data.node).toMatchObject({ __typename: "Conversation", id: sent.conversationId });
    expect((await gql(NODE, { id: sent.messageId })).data.node).toEqual({ __typename: "Message", id: sent.messageId, query: "a node of mine" });
    // Another end user's ids name nothing.
    expect((await gql(NODE, { id: sent.conversationId }, stranger)).data.node).toBeNull();
    expect((await gql(NODE, { id: sent.messageId }, stranger)).data.node).toBeNull();
    // Ids that name nothing at all are no error either.
    for (const id of ["garbage", "", "\u0000", Buffer.from("Conversation:not-a-uuid").toString("base64"), Buffer.from("App:x").toString("base64")]) {
      expect(await gql(NODE, { id })).toEqual({ data: { node: null } });
    }
    // The REST surface's UUIDs work wherever an id is taken.
    const byUuid = await gql(`query($id: ID!) { conversation(id: $id) { ... on Conversation { id } } }`, { id: uuid });
    expect(byUuid.data.conversation.id).toBe(sent.conversationId);
  });

  it("answers times with milliseconds", async () => {
    const sent = await send("what time is it");
    const local = Buffer.from(sent.messageId, "base64").toString("utf8").replace(/^Message:/, "");
    const row = await s.rt.db.message.findUniqueOrThrow({ where: { id: local } });
    const read = await gql(`query($id: ID!) { message(id: $id) { ... on Message { createdAt } } }`, { id: sent.messageId });
    expect(read.data.message.createdAt).toBe(row.createdAt.toISOString());
    expect(new Date(read.data.message.createdAt).getTime()).toBe(row.createdAt.getTime());
  });

  it("loads the messages of a page of conversations in one batch, not one query per conversation", async () => {
    const viewer = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
    const mine = (q: string, v: Record<string, unknown> = {}) => gql(q, v, viewer);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const first = await mine(`mutation($i: ChatMessageInput!) { sendChatMessage(input: $i) { ... on GenerationResult { conversationId } } }`, {
        i: { query: `q${i}`, inputs },
      });
      ids.push(first.data.sendChatMessage.conversationId);
      await mine(`mutation($i: ChatMessageInput!) { sendChatMessage(input: $i) { __typename } }`, { i: { query: `r${i}`, inputs, conversationId: ids[i] } });
    }
    const Q = (first: number) => `{ conversations(first: ${first}) { edges { node { id messages(last: 1) { edges { node { query } } pageInfo { hasPreviousPage } } } } } }`;
    // The fewest of three tries: the server's background work (heartbeats, a finished task's bookkeeping)
    // can land in one window, never in all three.
    const cost = async (first: number) => {
      const tries = [];
      for (let i = 0; i < 3; i++) {
        const before = s.rt.statements();
        const page = await mine(Q(first));
        expect(page.errors).toBeUndefined();
        tries.push({ statements: s.rt.statements() - before, page: page.data.conversations.edges });
      }
      return tries.reduce((a, b) => (b.statements < a.statements ? b : a));
    };
    const two = await cost(2);
    const six = await cost(6);
    expect(six.statements).toBe(two.statements);
    expect(six.page.map((e: any) => e.node.messages.edges.map((m: any) => m.node.query))).toEqual([5, 4, 3, 2, 1, 0].map((i) => [`r${i}`]));
    expect(six.page.every((e: any) => e.node.messages.pageInfo.hasPreviousPage)).toBe(true);
  });
});
