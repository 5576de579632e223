// kill -9 of an instance mid-stream: another instance (or, embedded, the next start) ends its generations
// with what they had saved, and wakes their readers with an error event, on both surfaces.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { gqlSseEvents, type GqlEvent } from "../support/graphql.js";
import { sseEvents, waitFor } from "../support/sse.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { startChildServer, startInstancePair, type ChildServer, type InstancePair } from "../support/child-server.js";

const RESUME = `subscription($taskId: ID!) { taskEvents(taskId: $taskId) { __typename
  ... on GenerationEvent { seq } ... on MessageDelta { answer } ... on GenerationFailed { code message } } }`;
const inputs = { traveller: "Ana", destination: "Lisbon" };
const words = Array.from({ length: 400 }, (_, i) => `w${i}`).join(" ");

/** Start a streaming chat on `url`; resolves with its first event, the rest read on in the background. */
async function startChat(url: string, passport: string) {
  const res = await fetch(`${url}/api/chat-messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "X-App-Passport": passport },
    body: JSON.stringify({ query: "go", inputs, response_mode: "streaming" }),
  });
  const events = sseEvents(res);
  const first = (await events.next()).value;
  const rest = (async () => {
    try {
      for await (const _ of events);
    } catch {
      // the instance died under it
    }
  })();
  return { first, rest };
}

/** The saved answer of `messageId`, through the owner's own message list. */
async function savedAnswer(url: string, passport: string, conversationId: string): Promise<{ answer: string; status: string; error: string | null }> {
  const res = await fetch(`${url}/api/messages?conversation_id=${conversationId}`, { headers: { "X-App-Passport": passport } });
  const body = (await res.json()) as any;
  return body.data[0];
}

const shared = Boolean(process.env.REDIS_URL && process.env.DATABASE_URL);

describe.skipIf(!shared)("kill -9 of an instance, another on the same PostgreSQL and Redis (needs DATABASE_URL and REDIS_URL)", () => {
  let fake: FakeOpenAI;
  let pair: InstancePair;
  let a: ChildServer;
  let b: TestServer;
  let token: string;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => words, tokenDelayMs: 20 });
    pair = await startInstancePair({ OPENAI_BASE_URL: fake.baseUrl }, "apps/chat-travel-planner.yml");
    ({ a, b, token } = pair);
  }, 120_000);
  afterAll(async () => {
    await pair?.close();
    await fake?.close();
  });

  it("ends the dead instance's generation with its partial answer and ends every reader on the live one", async () => {
    const { first } = await startChat(a.url, token);
    const taskId = first.task_id as string;
    // Followers on B, over REST and GraphQL.
    const restFollow = (async () => {
      const all: any[] = [];
      for await (const e of sseEvents(await b.api(`/chat-messages/${taskId}/events`, { passport: token }))) all.push(e);
      return all;
    })();
    const gqlFollow = (async () => {
      const all: GqlEvent[] = [];
      for await (const e of gqlSseEvents(b, RESUME, { taskId }, { token })) all.push(e);
      return all;
    })();
    // A has saved part of the answer (it saves as the answer grows), and is still generating.
    await waitFor(async () => (await savedAnswer(b.url, token, first.conversation_id)).answer.length > 0, 20_000);
    await a.kill9();
    const killedAt = Date.now();

    const [rest, graphql] = await Promise.all([restFollow, gqlFollow]);
    console.log(`takeover after kill -9: readers ended ${Date.now() - killedAt} ms after the kill (lease 1500 ms)`);
    expect(rest.at(-1)).toMatchObject({ event: "error", code: "task_lost", message_id: first.message_id, conversation_id: first.conversation_id });
    expect(graphql.at(-1)).toMatchObject({ __typename: "GenerationFailed", code: "task_lost" });
    const saved = await savedAnswer(b.url, token, first.conversation_id);
    expect(saved.status).toBe("error");
    expect(saved.error).toMatch(/stopped before it finished/);
    expect(saved.answer.length).toBeGreaterThan(0);
    expect(words.startsWith(saved.answer)).toBe(true);
    // Nothing runs it any more: a stop has nothing to stop, and a resume replays the end.
    const stop = await b.graphql(`mutation($t: ID!) { stopGeneration(taskId: $t) { ... on StopGenerationPayload { stopped } } }`, { t: taskId }, { authorization: `Bearer ${token}` });
    expect(stop.data.stopGeneration).toEqual({ stopped: false });
    const again: any[] = [];
    for await (const e of sseEvents(await b.api(`/chat-messages/${taskId}/events`, { passport: token }))) again.push(e);
    expect(again.at(-1)).toMatchObject({ event: "error", code: "task_lost" });
  }, 60_000);
});

describe("kill -9 of the embedded server, then a restart on its data directory", () => {
  let fake: FakeOpenAI;
  let dataDir: string;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => words, tokenDelayMs: 20 });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-takeover-"));
  });
  afterAll(async () => {
    await fake?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("the next start marks the interrupted message with its partial answer", async () => {
    const env = { OPENAI_BASE_URL: fake.baseUrl, DATA_DIR: dataDir };
    const setup = await startTestServer("pglite", env);
    const token = await setup.passport((await setup.importApp("apps/chat-travel-planner.yml")).code);
    await setup.close();

    const child = await startChildServer(env);
    const { first } = await startChat(child.url, token);
    await waitFor(async () => (await savedAnswer(child.url, token, first.conversation_id)).answer.length > 0, 20_000);
    await child.kill9();

    const restarted = await startTestServer("pglite", env);
    try {
      const saved = await savedAnswer(restarted.url, token, first.conversation_id);
      expect(saved.status).toBe("error");
      expect(saved.answer.length).toBeGreaterThan(0);
      expect(words.startsWith(saved.answer)).toBe(true);
      const gql = await restarted.graphql(
        `query($c: ID!) { conversation(id: $c) { ... on Conversation { messages(first: 1) { edges { node { status error answer } } } } } }`,
        { c: Buffer.from(`Conversation:${first.conversation_id}`).toString("base64") },
        { authorization: `Bearer ${token}` },
      );
      expect(gql.errors).toBeUndefined();
      expect(gql.data.conversation.messages.edges[0].node).toMatchObject({ status: "error", answer: saved.answer });
    } finally {
      await restarted.close();
    }
  }, 120_000);
});
