// `npm run bench:faults`: a probe that kills things under load and reports what clients and the database
// saw (figures, not pass/fail; it fails only if the probe itself breaks). Servers are children running the
// built dist/server.js, the fake model (test/bench/fake-model.ts: `<id>:0 … <id>:49`, 40 ms apart) runs
// in its own process; this process only drives clients and measures.
//   1. Redis restart: own redis-server (AOF, fsync always; then without persistence), N chats streaming.
//   2. kill -9 of one of two instances on PostgreSQL + the shared Redis (needs DATABASE_URL, REDIS_URL).
//   3. kill -9 of an embedded server, restart on its DATA_DIR.
// Each fault strikes when the streams are under way (see strike()); figures are broken down by where each
// stream was then. Knobs: FAULTS_N (200), FAULTS_K (50), FAULTS_OUTAGE_MS (2000, the Redis outage).
import { execFileSync, fork, spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import { setMaxListeners } from "node:events";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import WebSocket from "ws";
import { createClient } from "graphql-ws";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SERVER_JS = path.join(ROOT, "dist/server.js");
const CLI_JS = path.join(ROOT, "dist/cli.js");
const FIXTURE = (f) => path.join(ROOT, "test/fixtures", f);
const N = Number(process.env.FAULTS_N ?? 200);
const K = Number(process.env.FAULTS_K ?? 50);
const OUTAGE_MS = Number(process.env.FAULTS_OUTAGE_MS ?? 2000);
const TOKENS = 50;
/** Parts 2 and 3 kill once every stream has this many tokens: past the first save of a growing answer (once a second). */
const KILL_AT_TOKENS = 25;
const TOKEN_DELAY_MS = 40;
const SECRET_KEY = "appgraph-faults-probe-secret-0123456789";
const TRAVEL = { traveller: "Ana", destination: "Lisbon" };
const { DATABASE_URL, REDIS_URL } = process.env;

// ---- Cleanup: no child outlives us, no temp dir or database stays behind; a global deadline. ----
const children = new Set();
const tempDirs = [];
const databases = new Set();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  for (const name of databases) spawnSync("psql", [DATABASE_URL, "-qc", `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`], { stdio: "ignore" });
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(1));
setTimeout(() => (console.error("faults: gave up after 900 s"), process.exit(1)), 900_000).unref();

// ---- Helpers ----
const now = () => performance.now();
const tempDir = (prefix) => (tempDirs.push(fs.mkdtempSync(path.join(os.tmpdir(), prefix))), tempDirs.at(-1));
const pct = (xs, p) => (xs.length ? Math.round([...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)]) : null);
const replyText = (id) => Array.from({ length: TOKENS }, (_, i) => `${id}:${i}`).join(" ");
const spread = (xs) => `p50 ${pct(xs, 50)}, max ${pct(xs, 100)}`;
const words = (text) => text.split(" ").filter(Boolean).length;
const localId = (globalId) => Buffer.from(globalId, "base64").toString("utf8").replace(/^[A-Za-z]+:/, "");
const count = (xs, key) => xs.reduce((acc, x) => ((acc[key(x)] = (acc[key(x)] ?? 0) + 1), acc), {});
const fmt = (counts) => Object.entries(counts).map(([k, v]) => `${v}× ${k}`).join(", ") || "none";
/** One abort for all of an experiment's streams (the deadline), listened to by each of them. */
const aborter = () => ((c) => (setMaxListeners(0, c.signal), c))(new AbortController());
/** Wait for every stream to end; one still open after `ms` is cut and ends as "still open at the deadline" (a hang). */
async function settle(streams, abort, ms) {
  const timer = setTimeout(() => abort.abort(), ms);
  await Promise.all(streams.map((s) => s.done));
  clearTimeout(timer);
}
const serverErrors = []; // every 5xx any request of ours got

async function until(fn, ms, what) {
  const deadline = now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (now() > deadline) throw new Error(`faults: not within ${ms} ms: ${what}`);
    await sleep(50);
  }
}

const freePort = () => new Promise((resolve, reject) => {
  const srv = net.createServer().once("error", reject);
  srv.listen(0, "127.0.0.1", () => ((port) => srv.close(() => resolve(port)))(srv.address().port));
});

/** GET a JSON answer; a 5xx is noted. */
async function getJson(url, headers = {}) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status >= 500) serverErrors.push(`GET ${new URL(url).pathname} → ${res.status}: ${text.slice(0, 120)}`);
  if (res.status !== 200) throw new Error(`GET ${url} → ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/** `fn` over `xs`, `limit` at a time. */
async function pool(xs, limit, fn) {
  const out = new Array(xs.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < xs.length) {
      const i = next++;
      out[i] = await fn(xs[i], i);
    }
  }));
  return out;
}

const passports = (base, code, n) => pool(Array.from({ length: n }), 10, async () => (await getJson(`${base}/api/passport`, { "X-App-Code": code })).access_token);
const savedMessage = async (base, passport, conversationId) =>
  (await getJson(`${base}/api/messages?conversation_id=${conversationId}`, { "X-App-Passport": passport })).data[0] ?? null;

/** Read Dify SSE; resolves with how the response ended ("end", a non-200, a cut connection, "aborted"). */
function sse(url, { method = "GET", headers = {}, body, signal }, onEvent) {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const json = payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {};
    const req = http.request(url, { method, agent: false, signal, headers: { accept: "text/event-stream", ...json, ...headers } }, (res) => {
      res.setEncoding("utf8");
      let buffer = "";
      res.on("data", (chunk) => {
        buffer += chunk;
        const lines = buffer.split("\n");
        buffer = lines.pop();
        for (const line of lines) if (res.statusCode === 200 && line.startsWith("data: ")) onEvent(JSON.parse(line.slice(6)));
      });
      res.on("end", () => {
        if (res.statusCode >= 500) serverErrors.push(`${method} ${new URL(url).pathname} → ${res.statusCode}: ${buffer.slice(0, 120)}`);
        resolve(res.statusCode === 200 ? "end" : `HTTP ${res.statusCode} ${buffer.slice(0, 100)}`);
      });
      res.on("close", () => resolve(signal?.aborted ? "still open at the deadline" : "connection cut"));
    });
    req.on("error", () => resolve(signal?.aborted ? "still open at the deadline" : "connection cut"));
    req.end(payload);
  });
}

/** What one client saw of one task. `ending`: the last event (with its code or status), or how the connection ended. */
const newStream = (surface, id) => ({ surface, id, answer: "", tokens: 0, llmStarts: 0, end: false, last: null, ending: null, endedAt: null });
function onDifyEvent(s, e) {
  s.taskId ??= e.task_id;
  s.conversationId ??= e.conversation_id;
  s.runId ??= e.workflow_run_id;
  s.last = e.event === "error" ? `error ${e.code}` : e.event === "workflow_finished" ? `workflow_finished ${e.data.status}` : e.event;
  if (e.event === "message") (s.answer += e.answer), s.tokens++;
  if (e.event === "message_end") s.end = true;
  if (e.event === "node_started" && e.data.node_id === "llm") s.llmStarts++;
}
const finish = (s, how) => ((s.ending = how === "end" ? s.last ?? "no events" : `${how} after ${s.last ?? "no events"}`), (s.endedAt = now()), s);

/** POST /api/chat-messages, streaming (chat apps and chatflows alike). */
function restChat(base, passport, id, inputs, signal) {
  const s = newStream("REST SSE", id);
  const body = { query: `bench ${id}`, inputs, response_mode: "streaming", conversation_id: "" };
  s.done = sse(`${base}/api/chat-messages`, { method: "POST", headers: { "X-App-Passport": passport }, body, signal }, (e) => onDifyEvent(s, e)).then((how) => finish(s, how));
  return s;
}

/** GET /api/chat-messages/{task_id}/events: follow a task from its start, on any instance. */
function follow(base, passport, id, taskId, signal) {
  const s = newStream("follower", id);
  s.done = sse(`${base}/api/chat-messages/${taskId}/events`, { headers: { "X-App-Passport": passport }, signal }, (e) => onDifyEvent(s, e)).then((how) => finish(s, how));
  return s;
}

const CHAT = `subscription($input: ChatMessageInput!) { chatMessage(input: $input) { __typename
  ... on GenerationEvent { taskId conversationId } ... on MessageDelta { answer } ... on GenerationFailed { code } ... on AppError { code } } }`;
/** The chatMessage subscription over graphql-ws, a WebSocket each. */
function gqlChat(base, passport, id, inputs, signal) {
  const s = newStream("graphql-ws", id);
  const client = createClient({ url: `${base.replace(/^http/, "ws")}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${passport}` }, retryAttempts: 0, lazy: true });
  s.done = new Promise((resolve) => {
    const onAbort = () => resolve("still open at the deadline");
    signal.addEventListener("abort", onAbort, { once: true });
    client.subscribe({ query: CHAT, variables: { input: { query: `bench ${id}`, inputs } } }, {
      next: ({ data, errors }) => {
        const e = data?.chatMessage;
        if (errors) s.last = `GraphQL errors: ${errors.map((x) => x.message).join("; ")}`;
        if (!e) return;
        s.taskId ??= e.taskId;
        if (e.conversationId) s.conversationId ??= localId(e.conversationId);
        s.last = e.code ? `${e.__typename} ${e.code}` : e.__typename;
        if (e.__typename === "MessageDelta") (s.answer += e.answer), s.tokens++;
        if (e.__typename === "MessageEnd") s.end = true;
      },
      error: (err) => resolve(err instanceof Error ? `error: ${err.message}` : err?.code ? `socket closed ${err.code}` : "error"),
      complete: () => resolve("end"),
    });
  }).then((how) => (void client.dispose(), finish(s, how)));
  return s;
}

/**
 * Wait for the moment to strike: every stream has `minTokens` tokens (or has ended), or, when the streams
 * are too spread out for that, the first of them is 5 tokens from its end. Each stream notes where it
 * was then (its phase); the figures are broken down by it.
 */
async function strike(streams, minTokens) {
  const ready = () => streams.every((s) => s.tokens >= minTokens || s.ending) || streams.some((s) => !s.ending && s.tokens >= TOKENS - 5);
  await until(ready, 60_000, "the streams under way");
  for (const s of streams) s.phase = s.ending ? "ended before" : s.tokens ? "mid-stream" : "no token yet";
  const mid = streams.filter((s) => s.phase === "mid-stream").map((s) => s.tokens);
  return `${fmt(count(streams, (s) => s.phase))}; tokens of those mid-stream min ${pct(mid, 0)}, p50 ${pct(mid, 50)}, max ${pct(mid, 100)}`;
}

/** A chat stream's outcome: whole answer and an end, or how it ended and what it had. */
function outcome(s) {
  const expected = replyText(s.id);
  if (s.end && s.answer === expected && /^(message_end|MessageEnd)$/.test(s.ending)) return "whole answer + end";
  const answer = s.answer === expected ? "whole answer" : !s.answer ? "no answer" : expected.startsWith(s.answer) ? "a prefix" : "answer with gaps";
  return `${s.ending}, ${answer}`;
}

// ---- Processes ----

/** Our environment without the backends: each child gets only the database and Redis its experiment names. */
function inheritedEnv() {
  const { DATABASE_URL: _d, REDIS_URL: _r, OPENAI_BASE_URL: _o, ...env } = process.env;
  return env;
}

async function startServer(env) {
  const spawnedAt = now();
  const child = spawn(process.execPath, [SERVER_JS], {
    cwd: ROOT,
    env: { ...inheritedEnv(), HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "warn", SECRET_KEY, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let output = "";
  const keep = (d) => output.length < 2_000_000 && (output += d);
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let status = null;
  const exited = new Promise((resolve) => child.once("exit", (c, sig) => (children.delete(child), (status = c ?? sig), resolve())));
  const url = await until(() => {
    if (status !== null) throw new Error(`faults: server exited (${status}) before listening:\n${output}`);
    return /appgraph listening on (http:\/\/\S+)/.exec(output)?.[1];
  }, 120_000, "server listening");
  return {
    url, spawnedAt, listenedAt: now(), output: () => output,
    kill9: () => (child.kill("SIGKILL"), exited),
    stop: async () => (child.kill("SIGTERM"), await Promise.race([exited, sleep(15_000).then(() => child.kill("SIGKILL"))]), exited),
  };
}

/** Warn and error lines a server logged (pino JSON), counted by message. */
function complaints(server) {
  const lines = server.output().split("\n").filter((l) => l.startsWith("{")).map((l) => { try { return JSON.parse(l); } catch { return null; } });
  const bad = lines.filter((e) => e && e.level >= 40);
  const other = server.output().split("\n").filter((l) => l && !l.startsWith("{") && !/^(appgraph listening| {2}\S)/.test(l));
  return fmt(count(bad, (e) => `${e.level >= 50 ? "error" : "warn"}: ${e.msg}${e.err?.message ? ` (${e.err.message.slice(0, 80)})` : ""}`)) + (other.length ? `; other output: ${other.slice(0, 3).join(" | ")}` : "");
}

const cli = (env, ...args) => execFileSync(process.execPath, [CLI_JS, ...args], { cwd: ROOT, env: { ...inheritedEnv(), SECRET_KEY, ...env }, encoding: "utf8" });
/** `app import FILE`: its last line is {"id","code","mode","name"}. */
const importApp = (env, file) => JSON.parse(cli(env, "app", "import", FIXTURE(file)).trim().split("\n").at(-1)).code;

async function startFakeModel() {
  const child = fork(fileURLToPath(new URL("./fake-model.ts", import.meta.url)), [], { cwd: ROOT, execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  const ready = new Promise((resolve) => child.on("message", (m) => m.type === "ready" && resolve(m.baseUrl)));
  child.send({ type: "start", tokens: TOKENS, tokenDelayMs: TOKEN_DELAY_MS });
  return ready;
}

const redisAnswers = (port) => new Promise((resolve) => {
  const socket = net.connect(port, "127.0.0.1");
  socket.once("connect", () => socket.write("PING\r\n"));
  socket.once("data", (d) => (socket.destroy(), resolve(d.toString().startsWith("+PONG"))));
  socket.once("error", () => resolve(false));
});

/** A redis-server of our own on a free port: append-only with fsync always, or no persistence at all. */
async function ownRedis(persistent) {
  const port = await freePort();
  const persistence = persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", tempDir("appgraph-faults-redis-"), "--save", "", ...persistence];
  let child;
  const start = async () => {
    child = spawn("redis-server", args, { stdio: "ignore" });
    children.add(child);
    child.once("exit", () => children.delete(child));
    await until(() => redisAnswers(port), 10_000, "redis-server answers PING");
  };
  await start();
  const kill = () => new Promise((resolve) => (child.once("exit", resolve), child.kill("SIGKILL")));
  return { url: `redis://127.0.0.1:${port}`, start, kill };
}

// ---- 1. Redis restart under N streaming chats ----

async function redisRestart(modelUrl, persistent) {
  const redis = await ownRedis(persistent);
  const server = await startServer({ DATA_DIR: tempDir("appgraph-faults-"), REDIS_URL: redis.url, OPENAI_BASE_URL: modelUrl });
  const code = /^ +app .*: share code (\S+)$/m.exec(server.output())[1]; // the demo chat app, imported on the first start
  const tokens = await passports(server.url, code, N);
  const abort = aborter();
  const streams = tokens.map((p, i) => (i % 2 ? gqlChat : restChat)(server.url, p, `c${i}`, {}, abort.signal));
  const atKill = await strike(streams, 1);
  await redis.kill();
  await sleep(OUTAGE_MS);
  await redis.start();
  const backAt = now();
  await settle(streams, abort, 120_000);
  const saved = await pool(streams, 10, (s, i) => (s.conversationId ? savedMessage(server.url, tokens[i], s.conversationId) : null));
  const whole = (m, s) => m?.status === "normal" && m.answer === replyText(s.id);
  // A reader that comes afterwards: what the task's log in Redis still holds.
  const late = aborter();
  const replays = streams.map((s, i) => follow(server.url, tokens[i], s.id, s.taskId, late.signal));
  await settle(replays, late, 60_000);
  const result = {
    redis: persistent ? "appendonly yes, appendfsync always" : 'no persistence (--save "" --appendonly no)',
    atKill,
    streams: fmt(count(streams, (s) => `${s.phase} · ${s.surface}: ${outcome(s)}`)),
    savedWhole: `${saved.filter((m, i) => whole(m, streams[i])).length} of ${N}`,
    savedOtherwise: fmt(count(saved.filter((m, i) => !whole(m, streams[i])), (m) => (m ? `${m.status}, ${m.answer.length} chars` : "not found"))),
    redisBackToLastEndMs: Math.round(Math.max(...streams.map((s) => s.endedAt)) - backAt),
    replayAfterwards: fmt(count(replays, outcome)),
    log: complaints(server),
  };
  await server.stop();
  return result;
}

// ---- 2. kill -9 of one of two instances on PostgreSQL and the shared Redis ----

async function createDatabase() {
  const name = `appgraph_faults_${crypto.randomBytes(6).toString("hex")}`;
  const admin = async (sql) => {
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try { await client.query(sql); } finally { await client.end(); }
  };
  await admin(`CREATE DATABASE "${name}"`);
  databases.add(name);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: async () => (await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`), databases.delete(name)) };
}

/** The chatflow's answer: `Answer: <llm reply> (done)\nYou asked: <query>` (the fake names the reply after `bench <id>`, else x0). */
const chatflowAnswers = (id) => [id, "x0"].map((rid) => `Answer: ${replyText(rid)} (done)\nYou asked: bench ${id}`);

/** The saved message of a chat cut short: marked error, its answer a prefix of the reply and of what its reader saw. */
function partials(streams, saved) {
  const cut = streams.map((s, i) => ({ s, m: saved[i] })).filter(({ s }) => s.phase !== "ended before");
  const error = cut.filter(({ m }) => m?.status === "error");
  const behind = error.map(({ s, m }) => words(s.answer) - words(m.answer));
  return {
    markedError: `${error.length} of ${cut.length} cut short (others: ${fmt(count(cut.filter(({ m }) => m?.status !== "error"), ({ m }) => m?.status ?? "not found"))})`,
    partialAnswers: `${error.filter(({ s, m }) => replyText(s.id).startsWith(m.answer) && m.answer !== replyText(s.id)).length} a strict prefix of the reply, ${error.filter(({ m }) => !m.answer).length} empty`,
    // Saved at most once a second while it grows: how far behind what the reader had seen it is.
    partialVsReader: `${error.filter(({ s, m }) => s.answer.startsWith(m.answer)).length} a prefix of what the reader saw; tokens behind it p50 ${pct(behind, 50)}, max ${pct(behind, 100)}`,
    endedBeforeSavedWhole: `${streams.filter((s, i) => s.phase === "ended before" && saved[i]?.status === "normal" && saved[i].answer === replyText(s.id)).length} of ${streams.length - cut.length}`,
  };
}

async function killNine(modelUrl, leaseMs) {
  const db = await createDatabase();
  try {
    const env = { DATABASE_URL: db.url, REDIS_URL, OPENAI_BASE_URL: modelUrl, INSTANCE_LEASE_MS: String(leaseMs) };
    cli(env, "db", "migrate");
    const chatCode = importApp(env, "apps/chat-travel-planner.yml");
    const flowCode = importApp(env, "workflows/chatflow-prefixed-answers.yml");
    const [a, b] = [await startServer(env), await startServer(env)];
    const tokens = [...(await passports(b.url, chatCode, K)), ...(await passports(b.url, flowCode, 5))];
    const abort = aborter();
    const onA = tokens.map((p, i) => (i < K ? restChat(a.url, p, `c${i}`, TRAVEL, abort.signal) : restChat(a.url, p, `f${i - K}`, {}, abort.signal)));
    await until(() => onA.every((s) => s.taskId || s.ending), 60_000, "every task started on A");
    const followers = onA.map((s, i) => follow(b.url, tokens[i], s.id, s.taskId, abort.signal));
    const atKill = await strike(followers, KILL_AT_TOKENS);
    await a.kill9();
    const killedAt = now();
    await settle(followers, abort, leaseMs + 90_000);
    const saved = await pool(followers, 10, (f, i) => savedMessage(b.url, tokens[i], f.conversationId));
    const chats = followers.slice(0, K);
    const flows = followers.slice(K);
    const killToEnd = (xs) => spread(xs.filter((f) => f.phase !== "ended before").map((f) => f.endedAt - killedAt));
    const flowWhole = (f, i) => f.ending === "workflow_finished succeeded" && saved[K + i]?.status === "normal" && chatflowAnswers(f.id).includes(saved[K + i].answer);
    const result = {
      leaseMs, atKill,
      killToEndMs: `chats ${killToEnd(chats)}; chatflows ${killToEnd(flows)} (followers under way at the kill)`,
      chats: fmt(count(chats, (f) => `${f.phase}: ${f.ending}`)),
      ...partials(chats, saved.slice(0, K)),
      chatflows: fmt(count(flows, (f) => `${f.phase}: ${f.ending}, ${f.llmStarts} LLM node starts`)),
      runsFinishedOnB: `${flows.filter(flowWhole).length} of ${flows.length} (workflow_finished succeeded, answer saved whole)`,
      logB: complaints(b),
    };
    await b.stop();
    return result;
  } finally {
    await db.drop();
  }
}

// ---- 3. kill -9 of the embedded server, restart on its data directory ----

async function embeddedRestart(modelUrl) {
  const env = { DATA_DIR: tempDir("appgraph-faults-"), OPENAI_BASE_URL: modelUrl };
  const chatCode = importApp(env, "apps/chat-travel-planner.yml");
  const flowCode = importApp(env, "workflows/chatflow-prefixed-answers.yml");
  const first = await startServer(env);
  const chatTokens = await passports(first.url, chatCode, 20);
  const flowTokens = await passports(first.url, flowCode, 3);
  const abort = aborter();
  const chats = chatTokens.map((p, i) => restChat(first.url, p, `c${i}`, TRAVEL, abort.signal));
  const flows = flowTokens.map((p, i) => restChat(first.url, p, `f${i}`, {}, abort.signal));
  const atKill = await strike([...chats, ...flows], KILL_AT_TOKENS);
  await first.kill9();
  abort.abort();
  const second = await startServer(env);
  const poll = async (streams, tokens, done) => {
    let saved;
    let rounds = 0;
    const settled = async () => (rounds++, (saved = await Promise.all(streams.map((s, i) => savedMessage(second.url, tokens[i], s.conversationId)))).every((m, i) => done(m, streams[i])));
    await until(settled, 60_000, "messages settled after the restart");
    return { ms: Math.round(now() - second.spawnedAt), rounds, saved };
  };
  const [marked, finished] = await Promise.all([
    poll(chats, chatTokens, (m, s) => m?.status === (s.phase === "ended before" ? "normal" : "error")),
    poll(flows, flowTokens, (m, s) => m?.status === "normal" && chatflowAnswers(s.id).includes(m.answer)),
  ]);
  const query = "query($id: ID!) { workflowRun(id: $id) { ... on WorkflowRun { status } } }";
  const runs = await Promise.all(flows.map(async (s, i) => {
    const res = await fetch(`${second.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${flowTokens[i]}` }, body: JSON.stringify({ query, variables: { id: s.runId } }) });
    return (await res.json()).data?.workflowRun?.status ?? "unknown";
  }));
  const result = {
    atKill,
    // Times from the new spawn. Polling starts when the server listens; a round asks for every message at once.
    listeningMs: Math.round(second.listenedAt - second.spawnedAt),
    chatsMarkedMs: `${marked.ms} (poll round ${marked.rounds})`,
    runsFinishedMs: `${finished.ms} (poll round ${finished.rounds}; runs ${fmt(count(runs, (x) => x))})`,
    ...partials(chats, marked.saved),
    log: complaints(second),
  };
  await second.stop();
  return result;
}

// ---- The run ----

async function main() {
  const loadBefore = os.loadavg().map((x) => x.toFixed(2)).join(" ");
  const modelUrl = await startFakeModel();
  const results = { redisRestart: [], killNine: [], embedded: null };
  const hasRedisServer = spawnSync("redis-server", ["--version"]).status === 0;
  const print = (title, r) => console.log(`\n${title}\n${Object.entries(r).map(([k, v]) => `  ${k.padEnd(22)} ${typeof v === "object" && v ? JSON.stringify(v) : v}`).join("\n")}`);
  console.log(`appgraph fault probe — node ${process.version}, ${os.cpus().length} CPUs, load average before ${loadBefore}; model: ${TOKENS} tokens, ${TOKEN_DELAY_MS} ms apart`);

  if (!hasRedisServer) console.log("\n1. Redis restart: skipped (no redis-server on PATH)");
  for (const persistent of hasRedisServer ? [true, false] : []) {
    const r = await redisRestart(modelUrl, persistent);
    results.redisRestart.push(r);
    print(`1. Redis SIGKILLed under ${N} streaming chats (half REST SSE, half graphql-ws), down ${OUTAGE_MS} ms, started again; one server, PGlite`, r);
  }
  if (!DATABASE_URL || !REDIS_URL) console.log("\n2. kill -9 of one of two instances: skipped (needs DATABASE_URL and REDIS_URL)");
  for (const leaseMs of DATABASE_URL && REDIS_URL ? [15_000, 3_000] : []) {
    const r = await killNine(modelUrl, leaseMs);
    results.killNine.push(r);
    print(`2. kill -9 of A under ${K} chats + 5 chatflow runs, each followed on B (GET /api/chat-messages/{task_id}/events); PostgreSQL, shared Redis, INSTANCE_LEASE_MS=${leaseMs}`, r);
  }
  results.embedded = await embeddedRestart(modelUrl);
  print("3. kill -9 of the embedded server under 20 chats + 3 chatflow runs, started again on its DATA_DIR (times from the new spawn)", results.embedded);
  console.log(`\n5xx answers seen by the probe: ${serverErrors.length ? serverErrors.slice(0, 10).join("; ") : "none"}`);
  console.log(JSON.stringify({ ...results, serverErrors, outageMs: OUTAGE_MS, loadBefore }));
}

main().then(
  () => process.exit(0),
  (err) => (console.error(err), process.exit(1)),
);
