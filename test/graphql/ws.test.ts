// graphql-ws under the same limits as HTTP: a bad subscribe (syntax, validation, over a limit, bad
// variables) gets an `error` message for its id only, and the socket's other subscriptions go on; a
// message over the body cap closes that socket while it arrives, and nobody else waits for it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createClient, type Client } from "graphql-ws";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { capturingLogger, LEVEL, type LogLine } from "../support/log.js";
import { waitFor } from "../support/sse.js";

const inputs = { traveller: "Bo", destination: "Lisbon" };
const CHAT = `subscription($input: ChatMessageInput!) { chatMessage(input: $input) { __typename ... on MessageDelta { answer } } }`;
const aliases = (n: number, field: string) => Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(" ");

describe("graphql-ws limits and errors", () => {
  let fake: FakeOpenAI;
  let s: TestServer;
  let token: string;
  let lines: LogLine[];

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    const captured = capturingLogger("info");
    lines = captured.lines;
    s = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl }, captured.log);
    token = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });

  const wsUrl = () => s.url.replace("http", "ws") + "/graphql";
  const client = (): Client =>
    createClient({ url: wsUrl(), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0, lazy: false });

  /** One subscription's outcome: its results and how it ended (complete, or the error it got). */
  function outcome(c: Client, query: string, variables: Record<string, unknown> = {}) {
    const results: any[] = [];
    return new Promise<{ results: any[]; error?: any }>((resolve) =>
      c.subscribe({ query, variables }, { next: (r) => void results.push(r), error: (error) => resolve({ results, error }), complete: () => resolve({ results }) }),
    );
  }

  it("answers a bad subscribe with an error for its id; the socket's other subscription goes on", async () => {
    fake.setTokenDelay(20);
    const c = client();
    const closed: unknown[] = [];
    c.on("closed", (e) => void closed.push(e));
    try {
      const before = fake.requests.length + 1;
      const good = outcome(c, CHAT, { input: { query: "one two three four five", inputs } });
      await waitFor(() => fake.requests.length === before); // the good one's model call, counted out of what follows
      const bad = await Promise.all([
        outcome(c, "subscription { "),
        outcome(c, "subscription { nope }"),
        outcome(c, CHAT, { input: { query: 5, inputs } }),
        outcome(c, `subscription($input: ChatMessageInput!) { chatMessage(input: $input) { ... on MessageDelta { ${aliases(16, "answer")} } } }`, { input: { query: "x", inputs } }),
        outcome(c, `{ ${aliases(5000, 'suggestedQuestions(messageId: "m") { __typename }')} }`),
      ]);
      expect(bad.map((b) => [b.results, b.error.map((e: any) => e.extensions)])).toEqual([
        [[], [{ code: "GRAPHQL_PARSE_FAILED" }]],
        [[], [{ code: "GRAPHQL_VALIDATION_FAILED" }]],
        [[], [{ code: "BAD_USER_INPUT" }]],
        [[], [{ code: "GRAPHQL_VALIDATION_FAILED", limit: "aliases", max: 15 }]],
        [[], [{ code: "GRAPHQL_PARSE_FAILED", limit: "tokens", max: 1000 }]],
      ]);
      expect(bad[0].error[0].message).toBe("Syntax Error: Expected Name, found <EOF>.");
      expect(fake.requests.length - before).toBe(0);
      const { results, error } = await good;
      expect(error).toBeUndefined();
      expect(results.map((r) => r.data.chatMessage.answer ?? "").join("")).toBe("Echo: one two three four five");
      expect(closed).toEqual([]);
      // Refusals are logged once each, at info for a limit, never as the server's fault.
      expect(lines.filter((l) => l.msg === "GraphQL request refused").map((l) => [l.transport, l.level])).toEqual([
        ["graphql-ws", LEVEL.info],
        ["graphql-ws", LEVEL.info],
      ]);
    } finally {
      fake.setTokenDelay(0);
      await c.dispose();
    }
  });

  it("runs at most GRAPHQL_MAX_WS_SUBSCRIPTIONS subscriptions on one socket; a finished or refused one does not count", async () => {
    const capped = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl, GRAPHQL_MAX_WS_SUBSCRIPTIONS: "2" });
    const cappedToken = await capped.passport((await capped.importApp("apps/chat-travel-planner.yml")).code);
    fake.setTokenDelay(20);
    const c = createClient({
      url: capped.url.replace("http", "ws") + "/graphql",
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${cappedToken}` },
      retryAttempts: 0,
      lazy: false,
    });
    try {
      // Refused subscribes (a syntax error) never count.
      for (let i = 0; i < 3; i++) expect((await outcome(c, "subscription {")).error).toBeDefined();
      const first = outcome(c, CHAT, { input: { query: "one", inputs } });
      const second = outcome(c, CHAT, { input: { query: "two", inputs } });
      const third = await outcome(c, CHAT, { input: { query: "three", inputs } });
      expect(third.error).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ limit: "subscriptions", max: 2 }) })]);
      // The first two run to their end; then there is room again.
      for (const done of await Promise.all([first, second])) expect(done.error).toBeUndefined();
      const fourth = await outcome(c, CHAT, { input: { query: "four", inputs } });
      expect(fourth.error).toBeUndefined();
      expect(fourth.results.length).toBeGreaterThan(0);
    } finally {
      await c.dispose();
      await capped.close();
    }
  });

  it("closes a socket whose message is over the body cap as it arrives; other requests are answered meanwhile", async () => {
    const socket = new WebSocket(wsUrl(), "graphql-transport-ws");
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } }));
    await new Promise((resolve) => socket.once("message", resolve));
    const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
    const huge = JSON.stringify({ id: "1", type: "subscribe", payload: { query: `{ ${"__typename ".repeat(800_000)}}` } }); // 8.8 MB
    socket.send(huge, () => {});
    // Another client, on another connection, while those bytes arrive.
    const other = await s.graphql("{ __typename }");
    expect(other).toEqual({ data: { __typename: "Query" } });
    expect(await closed).toBe(1009); // message too big: refused by size, never parsed
    expect(lines.filter((l) => l.level >= LEVEL.warn)).toEqual([]);
    expect(lines.map((l) => l.msg)).toContain("graphql-ws message over the body cap");
    // A new socket works as ever.
    const c = client();
    try {
      expect(await outcome(c, "{ __typename }")).toEqual({ results: [{ data: { __typename: "Query" } }] });
    } finally {
      await c.dispose();
    }
  });
});
