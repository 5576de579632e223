// Connections are bounded: a client that stops reading is dropped (its task goes on and is saved), the
// instance caps its open connections (HTTP and WebSocket alike), slow requests (slowloris) time out,
// and a client that leaves mid-body is logged at debug, not as our error.
import net from "node:net";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { capturingLogger, LEVEL, type LogLine } from "../support/log.js";
import { waitFor } from "../support/sse.js";
import { startTestServer, type TestServer } from "../support/server.js";

/** A raw connection to `port` that keeps everything it receives. */
async function connect(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  const received: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => received.push(chunk));
  socket.on("error", () => {}); // a reset shows as 'close'
  const closed = once(socket, "close").then(() => undefined);
  await once(socket, "connect");
  return { socket, closed, text: () => Buffer.concat(received).toString("latin1") };
}

/** One keep-alive request on a raw connection: resolves with the response's head and body so far. */
async function roundTrip(conn: Awaited<ReturnType<typeof connect>>, request: string): Promise<string> {
  const before = conn.text().length;
  conn.socket.write(request);
  await waitFor(() => /\r\n\r\n/.test(conn.text().slice(before)) || conn.socket.destroyed);
  return conn.text().slice(before);
}

const HEALTHZ = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

describe("bounded connections", () => {
  let fake: FakeOpenAI;
  let s: TestServer;
  let lines: LogLine[];
  let passport: string;
  const inputs = { traveller: "Ana", destination: "Kyoto" };
  // Far more than the kernel buffers between the two ends hold (4 MiB send, 128 KiB receive here).
  const ANSWER = ("x".repeat(3999) + " ").repeat(4000);

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => ANSWER });
    const captured = capturingLogger("debug");
    lines = captured.lines;
    s = await startTestServer(
      "pglite",
      { OPENAI_BASE_URL: fake.baseUrl, WRITE_TIMEOUT_MS: "200", HEADERS_TIMEOUT_MS: "300", REQUEST_TIMEOUT_MS: "600" },
      captured.log,
    );
    passport = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });

  const logged = (msg: string) => lines.filter((l) => l.msg === msg);
  const errors = () => lines.filter((l) => l.level >= LEVEL.warn);

  it("drops a client that stops reading a stream; the answer is saved in full all the same", async () => {
    const conn = await connect(s.port);
    conn.socket.pause(); // and never reads
    const body = JSON.stringify({ query: "Talk a lot", inputs, response_mode: "streaming" });
    conn.socket.write(
      `POST /api/chat-messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-App-Passport: ${passport}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await waitFor(() => logged("dropped a connection that stopped reading").length === 1, 20_000);
    conn.socket.resume();
    await conn.closed;
    expect(conn.text()).toMatch(/^HTTP\/1.1 200/);
    expect(conn.text()).not.toContain("message_end");
    expect(conn.text().length).toBeLessThan(ANSWER.length);

    // The whole answer is saved. (Read from the database: through the API, this test's own 16 MB read
    // would be held to the 200 ms write timeout too, and a loaded machine can read slower than that.)
    const conversation = await waitFor(async () => (await (await s.api("/conversations?limit=1", { passport })).json()).data[0], 10_000);
    const saved = await waitFor(async () => {
      const message = await s.rt.db.message.findFirst({ where: { conversationId: conversation.id } });
      return message?.answer === ANSWER ? message : undefined;
    }, 20_000);
    expect(saved.answer.length).toBe(ANSWER.length);
  });

  it("drops a connection whose headers arrive too slowly (slowloris), with a 408", async () => {
    const conn = await connect(s.port);
    conn.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    const trickle = setInterval(() => conn.socket.write("X-Slow: a\r\n"), 50);
    await conn.closed;
    clearInterval(trickle);
    expect(conn.text()).toMatch(/^HTTP\/1.1 408/);
  });

  it("drops a request whose body arrives too slowly, with a 408", async () => {
    const conn = await connect(s.port);
    conn.socket.write("POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{");
    const trickle = setInterval(() => conn.socket.write(" "), 50);
    await conn.closed;
    clearInterval(trickle);
    expect(conn.text()).toMatch(/^HTTP\/1.1 408/);
  });

  it("logs a client that leaves in the middle of its request body at debug, on both surfaces", async () => {
    const before = logged("client went away during the request").length;
    for (const [path, headers] of [
      ["/api/chat-messages", `X-App-Passport: ${passport}\r\n`],
      ["/graphql", ""],
    ]) {
      const conn = await connect(s.port);
      // "100 Continue" says the server has the headers and is handling the request.
      conn.socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n${headers}\r\n`);
      await waitFor(() => conn.text().startsWith("HTTP/1.1 100 Continue\r\n\r\n"));
      conn.socket.write(`{"query":`);
      conn.socket.destroy();
    }
    await waitFor(() => logged("client went away during the request").length === before + 2);
    expect(logged("client went away during the request").slice(before).every((l) => l.level === LEVEL.debug)).toBe(true);
    expect(errors()).toEqual([]);
  });
});

describe("the connection cap", () => {
  let s: TestServer;
  let lines: LogLine[];
  beforeAll(async () => {
    const captured = capturingLogger("info");
    lines = captured.lines;
    s = await startTestServer("pglite", { MAX_CONNECTIONS: "3" }, captured.log);
  });
  afterAll(async () => {
    await s?.close();
  });

  async function openWs(): Promise<WebSocket> {
    const ws = new WebSocket(`${s.url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
    await once(ws, "open");
    ws.send(JSON.stringify({ type: "connection_init" }));
    const [ack] = await once(ws, "message");
    expect(JSON.parse(String(ack))).toEqual({ type: "connection_ack" });
    return ws;
  }

  it("refuses the connection over the cap, HTTP or WebSocket, while the earlier ones keep working", async () => {
    const first = await connect(s.port);
    const second = await connect(s.port);
    expect(await roundTrip(first, HEALTHZ)).toMatch(/^HTTP\/1.1 200/);
    expect(await roundTrip(second, HEALTHZ)).toMatch(/^HTTP\/1.1 200/);
    const ws = await openWs();

    // Over the cap: closed as soon as accepted, without an answer.
    const over = await connect(s.port);
    over.socket.write(HEALTHZ);
    await over.closed;
    expect(over.text()).toBe("");
    const refusedWs = new WebSocket(`${s.url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
    const refusal = new Promise<Error>((resolve) => refusedWs.on("error", resolve));
    await new Promise((resolve) => refusedWs.on("close", resolve));
    expect((await refusal).message).toBe("socket hang up");
    expect(refusedWs.protocol).toBe("");
    expect(lines.filter((l) => l.msg === "refused connections over MAX_CONNECTIONS")).toHaveLength(1);

    // The earlier ones go on.
    expect(await roundTrip(first, HEALTHZ)).toMatch(/^HTTP\/1.1 200/);
    expect(await roundTrip(second, HEALTHZ)).toMatch(/^HTTP\/1.1 200/);
    ws.send(JSON.stringify({ type: "ping" }));
    const [pong] = await once(ws, "message");
    expect(JSON.parse(String(pong))).toEqual({ type: "pong" });

    // A closed one makes room.
    first.socket.destroy();
    await first.closed;
    const next = await waitFor(async () => {
      const conn = await connect(s.port);
      const answer = await roundTrip(conn, HEALTHZ);
      conn.socket.destroy();
      return answer.startsWith("HTTP/1.1 200") ? answer : undefined;
    });
    expect(next).toMatch(/^HTTP\/1.1 200/);
    second.socket.destroy();
    ws.close();
  });
});
