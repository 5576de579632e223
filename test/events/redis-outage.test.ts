// Redis killed and started again while chats stream: every stream ends as its task did, every answer
// is saved, on both surfaces. The Redis here is the test's own (test/support/redis.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { gqlSseEvents, type GqlEvent } from "../support/graphql.js";
import { sseEvents, waitFor } from "../support/sse.js";
import { localId } from "../support/ids.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { hasRedisServer, startOwnRedis, type OwnRedis } from "../support/redis.js";

const CHAT = `subscription($input: ChatMessageInput!) { chatMessage(input: $input) { __typename
  ... on GenerationEvent { seq messageId } ... on MessageDelta { answer } ... on GenerationFailed { code } } }`;

// redis-server comes with Redis; a machine without it cannot run an outage of its own.
describe.skipIf(!hasRedisServer).each(backends)("a Redis restart mid-stream on %s (needs redis-server)", (backend) => {
  let fake: FakeOpenAI;
  let redis: OwnRedis;
  let s: TestServer;
  let token: string;
  const words = Array.from({ length: 40 }, (_, i) => `w${i}`).join(" ");
  const inputs = { traveller: "Ana", destination: "Lisbon" };

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => words, tokenDelayMs: 15 });
    redis = await startOwnRedis();
    s = await startTestServer(backend, { OPENAI_BASE_URL: fake.baseUrl, REDIS_URL: redis.url });
    token = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
  });
  afterAll(async () => {
    await s?.close();
    await redis?.close();
    await fake?.close();
  });

  type Stream = { surface: "rest" | "graphql"; seqs: number[]; answer: string; last: string; messageId?: string; done: Promise<void> };

  const restStream = (): Stream => {
    const stream: Stream = { surface: "rest", seqs: [], answer: "", last: "", done: Promise.resolve() };
    stream.done = (async () => {
      const res = await s.api("/chat-messages", {
        method: "POST",
        passport: token,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "go", inputs, response_mode: "streaming" }),
      });
      for await (const e of sseEvents(res)) {
        stream.messageId ??= e.message_id;
        stream.last = e.event;
        if (e.event === "message") stream.answer += e.answer;
        stream.seqs.push(stream.seqs.length + 1);
      }
    })();
    return stream;
  };

  const graphqlStream = (): Stream => {
    const stream: Stream = { surface: "graphql", seqs: [], answer: "", last: "", done: Promise.resolve() };
    stream.done = (async () => {
      for await (const e of gqlSseEvents(s, CHAT, { input: { query: "go", inputs } }, { token }) as AsyncGenerator<GqlEvent>) {
        stream.messageId ??= localId(e.messageId);
        stream.last = e.__typename;
        stream.seqs.push(e.seq);
        if (e.__typename === "MessageDelta") stream.answer += e.answer;
      }
    })();
    return stream;
  };

  it("every stream ends with its answer, in order, and every answer is saved", async () => {
    const streams = [...Array.from({ length: 4 }, restStream), ...Array.from({ length: 4 }, graphqlStream)];
    const before = fake.requests.length;
    // Mid-stream: every client has some of its answer, none all of it.
    await waitFor(() => streams.every((st) => st.answer.length > 0), 20_000);
    await redis.kill();
    // The model finishes every answer while Redis is away: the events wait in the server's buffer.
    await waitFor(() => fake.requests.length === before + 8 && fake.requests.slice(before).every((r) => r.completed), 20_000);
    await redis.start();
    await Promise.all(streams.map((st) => st.done));

    for (const st of streams) {
      expect(st.answer, st.surface).toBe(words);
      expect(st.last, st.surface).toBe(st.surface === "rest" ? "message_end" : "MessageEnd");
    }
    // GraphQL shows each event's sequence number: none missing, none twice.
    for (const st of streams.filter((x) => x.surface === "graphql")) expect(st.seqs).toEqual(st.seqs.map((_, i) => i + 1));
    const saved = await s.rt.db.message.findMany({ where: { id: { in: streams.map((st) => st.messageId!) } } });
    expect(saved).toHaveLength(8);
    for (const m of saved) expect({ answer: m.answer, status: m.status }).toEqual({ answer: words, status: "normal" });
  });
});

describe.skipIf(!hasRedisServer)("a Redis outage longer than streams wait (needs redis-server)", () => {
  let fake: FakeOpenAI;
  let redis: OwnRedis;
  let s: TestServer;
  let token: string;
  const inputs = { traveller: "Ana", destination: "Lisbon" };

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => "one two three four five six seven eight", tokenDelayMs: 15 });
    redis = await startOwnRedis();
    // Readers give up after a second; up to 1 MiB of events waits for Redis.
    s = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl, REDIS_URL: redis.url, REDIS_OUTAGE_SECONDS: "1", TASK_EVENT_BUFFER_MB: "1" });
    token = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
  });
  afterAll(async () => {
    await s?.close();
    await redis?.close();
    await fake?.close();
  });

  it("ends every stream with events_unavailable, and the answers are saved", async () => {
    const rest = s.api("/chat-messages", {
      method: "POST",
      passport: token,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "go", inputs, response_mode: "streaming" }),
    });
    const restEvents: any[] = [];
    const restDone = (async () => {
      for await (const e of sseEvents(await rest)) restEvents.push(e);
    })();
    const gqlEvents: GqlEvent[] = [];
    const gqlDone = (async () => {
      for await (const e of gqlSseEvents(s, CHAT, { input: { query: "go", inputs } }, { token })) gqlEvents.push(e);
    })();
    await waitFor(() => restEvents.length > 0 && gqlEvents.length > 0, 20_000);
    await redis.kill();
    await Promise.all([restDone, gqlDone]);
    expect(restEvents.at(-1)).toMatchObject({ event: "error", code: "events_unavailable", status: 503, message_id: restEvents[0].message_id });
    expect(gqlEvents.at(-1)).toMatchObject({ __typename: "GenerationFailed", code: "events_unavailable", messageId: gqlEvents[0].messageId });
    // The generations did not depend on the log: both answers are saved whole.
    const ids = [restEvents[0].message_id, localId(gqlEvents[0].messageId)];
    await waitFor(async () => (await s.rt.db.message.count({ where: { id: { in: ids }, answer: "one two three four five six seven eight" } })) === 2, 20_000);
    await redis.start();
  });

  it("a task whose events overflow the buffer gives up its log, says so to a later reader, and saves its answer", async () => {
    const long = Array.from({ length: 4000 }, (_, i) => `token${i}`).join(" ");
    fake.setReply(() => long);
    fake.setTokenDelay(1); // most of the answer comes while Redis is away
    const first = await (async () => {
      const res = await s.api("/chat-messages", {
        method: "POST",
        passport: token,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "long", inputs, response_mode: "streaming" }),
      });
      if (!res.headers.get("content-type")?.startsWith("text/event-stream")) throw new Error(`${res.status} ${await res.text()}`);
      for await (const e of sseEvents(res)) return e; // the first event, then the client goes
    })();
    await redis.kill();
    await waitFor(async () => (await s.rt.db.message.count({ where: { id: first.message_id, answer: long } })) === 1, 20_000);
    await redis.start();
    const resumed: any[] = [];
    await waitFor(async () => {
      resumed.length = 0;
      for await (const e of sseEvents(await s.api(`/chat-messages/${first.task_id}/events`, { passport: token }))) resumed.push(e);
      return resumed.at(-1)?.code === "events_unavailable";
    }, 20_000);
    expect(resumed.at(-1)).toMatchObject({ event: "error", code: "events_unavailable", message_id: first.message_id });
    expect(resumed.filter((e) => e.event === "message_end")).toHaveLength(0);
  });
});

describe.skipIf(!hasRedisServer)("a Redis that restarts empty mid-stream (no persistence; needs redis-server)", () => {
  let fake: FakeOpenAI;
  let redis: OwnRedis;
  let s: TestServer;
  let token: string;
  const inputs = { traveller: "Ana", destination: "Lisbon" };
  const RESUME = `subscription($taskId: ID!) { taskEvents(taskId: $taskId) { __typename
    ... on GenerationEvent { seq } ... on MessageDelta { answer } ... on GenerationFailed { code } } }`;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => Array.from({ length: 400 }, (_, i) => `w${i}`).join(" "), tokenDelayMs: 20 });
    redis = await startOwnRedis({ persistent: false });
    s = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl, REDIS_URL: redis.url });
    token = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
  });
  afterAll(async () => {
    await s?.close();
    await redis?.close();
    await fake?.close();
  });

  it("tells a reader that the log's start is gone instead of replaying the rest as if it were whole", async () => {
    const res = await s.api("/chat-messages", {
      method: "POST",
      passport: token,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "go", inputs, response_mode: "streaming" }),
    });
    let first: any;
    for await (const e of sseEvents(res)) {
      first = e;
      if (e.event === "message") break; // a token came through Redis; the client goes, the generation runs on
    }
    // The model holds its next token, so the generation is still running when Redis comes back empty.
    fake.setTokenDelay(60_000);
    await redis.kill();
    await redis.start();
    // The instance tells the new Redis about its running task again; then a stop finds it there.
    const stop = `mutation($t: ID!) { stopGeneration(taskId: $t) { ... on StopGenerationPayload { stopped } } }`;
    await waitFor(async () => {
      const r = await s.graphql(stop, { t: first.task_id }, { authorization: `Bearer ${token}` }).catch(() => null);
      return r?.data?.stopGeneration?.stopped === true;
    }, 20_000);
    // The answer is saved whatever became of its log.
    await waitFor(async () => (await s.rt.db.message.findUnique({ where: { id: first.message_id } }))?.providerResponseLatency !== 0, 20_000);

    const rest: any[] = [];
    for await (const e of sseEvents(await s.api(`/chat-messages/${first.task_id}/events`, { passport: token }))) rest.push(e);
    // The log's first event is gone, so the reader gets the error alone (no envelope to give it).
    expect(rest).toEqual([expect.objectContaining({ event: "error", code: "events_unavailable", status: 503 })]);
    // GraphQL, likewise: the subscription's only answer is the error.
    const graphql: GqlEvent[] = [];
    const reading = (async () => {
      for await (const e of gqlSseEvents(s, RESUME, { taskId: first.task_id }, { token })) graphql.push(e);
    })();
    await expect(reading).rejects.toThrow(/"code":"events_unavailable"/);
    expect(graphql).toEqual([]);
  });

  it("a task that ended while Redis was away still belongs to its owner there: a replay is told its events are gone", async () => {
    fake.setReply(() => "one two three four five six");
    fake.setTokenDelay(150);
    const res = await s.api("/chat-messages", {
      method: "POST",
      passport: token,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "short", inputs, response_mode: "streaming" }),
    });
    // Two tokens through Redis: the first is acknowledged there (batches go one after another), so the
    // restart below loses it for certain.
    const seen: any[] = [];
    for await (const e of sseEvents(res)) if (seen.push(e) === 2) break;
    const first = seen[0];
    await redis.kill();
    // It ends while Redis is away; its end waits in the buffer.
    await waitFor(async () => (await s.rt.db.message.findUnique({ where: { id: first.message_id } }))?.providerResponseLatency !== 0, 20_000);
    await redis.start();
    const replay: any[] = [];
    await waitFor(async () => {
      const r = await s.api(`/chat-messages/${first.task_id}/events`, { passport: token });
      if (r.status !== 200) return false;
      for await (const e of sseEvents(r)) replay.push(e);
      return true;
    }, 20_000);
    expect(replay.at(-1)).toMatchObject({ event: "error", code: "events_unavailable" });
  });
});
