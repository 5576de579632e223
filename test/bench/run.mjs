// `npm run bench`: start-up time, throughput and streaming of the built server (dist/), embedded PGlite.
// Every server runs in its own child process (the fake model too); this process only generates load
// (autocannon, the stream clients) and measures, so no server shares an event loop with the load generator.
import { spawn, fork } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import autocannon from "autocannon";
import { printUploadBench, uploadBench } from "./upload.mjs";
import { printWorkflowBench, workflowBench } from "./workflow.mjs";
import { printSpeechBench, speechBench } from "./speech.mjs";
import { concurrentStreams, cpuSeconds, measureLatency, monoMs, sampleAcceptQueue, sampleRss, tcpCounters, tcpCountersSince } from "./streaming.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SERVER_JS = path.join(ROOT, "dist/server.js");
const BARE_JS = fileURLToPath(new URL("./bare-server.mjs", import.meta.url));
const FAKE_MODEL_TS = fileURLToPath(new URL("./fake-model.ts", import.meta.url));

const RESTARTS = 3;
const WARMUP_S = 2;
const DURATION_S = 8;
const CONNECTIONS = 10;
const TARGETS = { restartMs: 2000, rest: 0.6, graphql: 0.5 };
const GRAPHQL_BODY = JSON.stringify({ query: "{ currentApp { ... on App { id name } } }" });
// Streaming (issue 3): the demo chat app answering through a fake model in its own process.
const STREAM = {
  tokens: 50,
  tokenDelayMs: 20,
  // (a), (b): streams read one at a time, alternating direct and gateway; warm-up pairs discarded.
  latencyStreams: 20,
  latencyWarmup: 2,
  latencyBudgetMs: 60_000,
  // (c): chats at once, half REST SSE, half graphql-ws; started in batches over ~0.5 s (less than one
  // stream lasts, so all are open together).
  concurrent: 2000,
  rampBatch: 200,
  rampIntervalMs: 50,
  concurrentBudgetMs: 80_000,
  // Each client gets a passport of its own (its own end user), fetched before the clock starts.
  passportConcurrency: 10,
};
const STREAM_TARGETS = { addedPerTokenP50Ms: 1, firstEventOverMs: 5, peakRssMiB: 500 };

// ---- Cleanup: whatever happens, no child outlives us and no temp dir stays behind. ----
const children = new Set();
const tempDirs = [];
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(1));
// Bounded: the whole run takes ~2 min (each streaming phase has its own deadline); give up before anyone wonders.
setTimeout(() => {
  console.error("bench: gave up after 300 s");
  process.exit(1);
}, 300_000).unref();

// ---- Helpers ----

/** A free TCP port: the OS picks one for a throwaway listener; we reuse the number. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** One HTTP request on a fresh connection (no keep-alive socket left in a pool). */
function request(url, { method = "GET", headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false, timeout: 5000 }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.on("error", reject);
    req.end(body);
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Spawn `node dist/server.js` and time it from spawn to the first 200 from GET /api/passport,
 * polling every 5 ms. The share code is read from its stdout; on a restart we already know it,
 * so polling starts at once and measures when the server can really answer.
 */
async function startServer(dataDir, port, knownCode, extraEnv = {}) {
  const { DATABASE_URL, REDIS_URL, OPENAI_BASE_URL, ...env } = process.env; // force embedded PGlite, no Redis
  const t0 = performance.now();
  const child = spawn(process.execPath, [SERVER_JS], {
    cwd: ROOT,
    env: { ...env, PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir, LOG_LEVEL: "warn", ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let output = "";
  let code = knownCode;
  let exitStatus = null;
  const exited = new Promise((resolve) =>
    child.once("exit", (status, signal) => {
      children.delete(child);
      exitStatus = status ?? signal;
      resolve();
    }),
  );
  // Kept for error reports; bounded, in case a server under load logs without end.
  const keep = (d) => {
    if (output.length < 4_000_000) output += d;
  };
  child.stdout.on("data", (d) => {
    keep(d);
    // The app line, e.g. `  app "appgraph demo chat" (chat): share code S189nHlHpacGRyfB`.
    code ??= /^ +app .*: share code (\S+)\n/m.exec(output)?.[1];
  });
  child.stderr.on("data", keep);

  const url = `http://127.0.0.1:${port}/api/passport`;
  for (;;) {
    if (exitStatus !== null) throw new Error(`server exited (${exitStatus}) before answering:\n${output}`);
    if (performance.now() - t0 > 60_000) throw new Error(`server not ready after 60 s:\n${output}`);
    if (code) {
      const res = await request(url, { headers: { "X-App-Code": code } }).catch(() => null);
      if (res?.status === 200) {
        const ms = performance.now() - t0;
        return { child, exited, code, port, ms, token: JSON.parse(res.body).access_token, output: () => output };
      }
    }
    await sleep(5);
  }
}

/** SIGTERM (graceful close of PGlite), SIGKILL if it hangs. */
async function stopServer({ child, exited }) {
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** The bare baseline in a forked child, answering with exactly `body`. */
async function startBare(body) {
  const child = fork(BARE_JS, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  const { port } = await new Promise((resolve, reject) => {
    child.once("message", resolve);
    child.once("exit", (code) => reject(new Error(`bare server exited (${code})`)));
    child.send({ bodyBase64: body.toString("base64") });
  });
  return { child, url: `http://127.0.0.1:${port}/` };
}

/**
 * The fake model (test/support/fake-openai.ts, through fake-model.ts) in a forked child run with tsx.
 * `request(msg, type)` sends an IPC message and resolves with the child's next message of `type`.
 */
async function startFakeModel() {
  const child = fork(FAKE_MODEL_TS, [], { cwd: ROOT, execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.add(child);
  const gone = new Promise((_, reject) =>
    child.once("exit", (code, signal) => {
      children.delete(child);
      reject(new Error(`fake model exited (${code ?? signal})`));
    }),
  );
  gone.catch(() => {});
  const request = (msg, type) =>
    Promise.race([
      gone,
      new Promise((resolve) => {
        const onMessage = (m) => {
          if (m?.type !== type) return;
          child.off("message", onMessage);
          resolve(m);
        };
        child.on("message", onMessage);
        child.send(msg);
      }),
    ]);
  const { baseUrl } = await request({ type: "start", tokens: STREAM.tokens, tokenDelayMs: STREAM.tokenDelayMs }, "ready");
  return { child, baseUrl, request };
}

/** One passport per client: GET /api/passport with the share code, `concurrency` at a time. */
async function fetchPassports(base, code, count, concurrency) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const passports = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const res = await new Promise((resolve, reject) => {
        const req = http.request(`${base}/api/passport`, { headers: { "X-App-Code": code }, agent, timeout: 10_000 }, (r) => {
          const chunks = [];
          r.on("data", (c) => chunks.push(c));
          r.on("end", () => resolve({ status: r.statusCode, body: Buffer.concat(chunks) }));
          r.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error("timeout: GET /api/passport")));
        req.on("error", reject);
        req.end();
      });
      check(res.status === 200, `GET /api/passport answered ${res.status}: ${res.body}`);
      passports[i] = JSON.parse(res.body).access_token;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return passports;
}

/** The soft and hard limits on open files of a process, from /proc/<pid>/limits. */
function openFilesLimit(pid) {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(fs.readFileSync(`/proc/${pid}/limits`, "utf8"));
  return { soft: Number(m?.[1]), hard: Number(m?.[2]) };
}

/**
 * Warn and error lines a server logged (pino JSON), and its "shutting down" line (info, naming the
 * signal), counted by message, with when each first came (ms after `sinceEpochMs`).
 */
function serverComplaints(output, sinceEpochMs) {
  const counts = {};
  const firstAtMs = {};
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (entry.level < 40 && entry.msg !== "shutting down") continue;
    const level = entry.level >= 50 ? "error" : entry.level >= 40 ? "warn" : "info";
    const key = `${level}: ${entry.msg}${entry.signal ? ` (${entry.signal})` : ""}${entry.err?.message ? ` — ${entry.err.message}` : ""}`;
    counts[key] = (counts[key] ?? 0) + 1;
    firstAtMs[key] ??= entry.time - sinceEpochMs;
  }
  // Anything else on stderr (a crash, an uncaught exception) is kept verbatim.
  const other = output.split("\n").filter((l) => l && !l.startsWith("{") && !/^(appgraph listening| {2}\S)/.test(l));
  return { counts, firstAtMs, other: other.slice(0, 20) };
}

/** Warm-up run (discarded: JIT, caches, connections), then the measured run. */
async function load(opts) {
  const base = { connections: CONNECTIONS, ...opts };
  await autocannon({ ...base, duration: WARMUP_S });
  const r = await autocannon({ ...base, duration: DURATION_S });
  return {
    rps: Math.round(r.requests.average),
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
  };
}

function check(cond, message) {
  if (!cond) throw new Error(`bench: ${message}`);
}

// ---- The run ----

async function main() {
  // Other work on the machine skews every figure: record how busy it was before we start.
  const loadBefore = os.loadavg().map((x) => +x.toFixed(2));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-bench-"));
  tempDirs.push(dataDir);
  const port = await freePort();

  // 1. Start-up: first start (migrations + demo import), then restarts on the migrated data dir.
  let server = await startServer(dataDir, port);
  const firstMs = server.ms;
  const code = server.code;
  const restartMs = [];
  for (let i = 0; i < RESTARTS; i++) {
    await stopServer(server);
    server = await startServer(dataDir, port, code);
    restartMs.push(server.ms);
  }

  // 2. Throughput against the last server, still running. Fetch the bodies once and check them,
  // since autocannon only counts status codes.
  const base = `http://127.0.0.1:${port}`;
  const { token } = server;
  const rest = { url: `${base}/api/parameters`, headers: { "X-App-Passport": token } };
  const gql = {
    url: `${base}/graphql`,
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: GRAPHQL_BODY,
  };
  const params = await request(rest.url, rest);
  check(params.status === 200, `GET /api/parameters answered ${params.status}: ${params.body}`);
  const gqlCheck = await request(gql.url, gql);
  const gqlData = JSON.parse(gqlCheck.body);
  check(gqlCheck.status === 200 && typeof gqlData.data?.currentApp?.name === "string", `GraphQL check failed: ${gqlCheck.body}`);

  const bare = await startBare(params.body);
  const bareCheck = await request(bare.url);
  check(bareCheck.body.equals(params.body), "bare server body differs from /api/parameters");

  // One target at a time, so each server has the CPU the load generator leaves.
  const runs = {};
  runs.bare = await load({ url: bare.url });
  bare.child.kill("SIGTERM");
  runs.rest = await load(rest);
  runs.graphql = await load(gql);
  await stopServer(server);

  // 3. Streaming: a new server on the same (migrated) data dir, answering through the fake model.
  const streaming = await benchStreaming(dataDir, port, code);

  // 4. A 90 MiB upload (local disk, then S3): new servers on the same (migrated) data dir.
  const upload = await uploadBench({ dataDir });

  // 5. The workflow engine (issue 4): its own servers, data dir and model.
  const workflow = await workflowBench();

  // 6. The embedded speech engine (issue 10): in this process, nothing else running.
  const speech = await speechBench();

  // ---- Report ----
  const restartMedianMs = median(restartMs);
  const startupPass = restartMedianMs < TARGETS.restartMs;
  const valid = (r) => r.non2xx === 0 && r.errors === 0 && r.timeouts === 0 && r.requests > 0;
  for (const [name, r] of Object.entries(runs)) {
    r.valid = valid(r);
    if (name !== "bare") {
      r.ratio = +(r.rps / runs.bare.rps).toFixed(3);
      r.target = TARGETS[name];
      r.pass = r.valid && r.ratio >= r.target;
    }
  }

  const ms = (x) => `${Math.round(x)} ms`.padStart(8);
  const verdict = (r) => (!r.valid ? "INVALID" : r.pass === undefined ? "" : r.pass ? "PASS" : "MISS");
  console.log(`\nappgraph bench — node ${process.version}, ${os.cpus().length} CPUs, load average before run ${loadBefore.join(" ")}, embedded PGlite\n`);
  console.log("Start-up (spawn → first 200 from GET /api/passport)");
  console.log(`  first start, empty data dir     ${ms(firstMs)}`);
  console.log(
    `  restart, migrated (median of ${RESTARTS}) ${ms(restartMedianMs)}   runs: ${restartMs.map(Math.round).join(", ")} ms` +
      `   target < ${TARGETS.restartMs} ms  ${startupPass ? "PASS" : "MISS"}`,
  );
  console.log(`\nThroughput (${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s measured)`);
  const row = (...cols) => console.log("  " + cols.map((c, i) => String(c)[i ? "padStart" : "padEnd"](i ? 9 : 30)).join(""));
  row("", "req/s", "ratio", "target", "p50 ms", "p99 ms", "non2xx", "errors", "result");
  const labels = { bare: "bare node:http (baseline)", rest: "REST GET /api/parameters", graphql: "GraphQL currentApp (POST)" };
  for (const [name, r] of Object.entries(runs)) {
    const ratio = name === "bare" ? "1.00x" : `${r.ratio.toFixed(2)}x`;
    const target = r.target ? `>= ${r.target}x` : "";
    row(labels[name], r.rps, ratio, target, r.p50Ms, r.p99Ms, r.non2xx, r.errors + r.timeouts, verdict(r));
  }
  reportStreaming(streaming);
  printUploadBench(upload);
  printWorkflowBench(workflow);
  printSpeechBench(speech);
  console.log("");
  console.log(
    JSON.stringify({
      node: process.version,
      cpus: os.cpus().length,
      loadBefore,
      startup: { firstMs: Math.round(firstMs), restartMs: restartMs.map(Math.round), restartMedianMs: Math.round(restartMedianMs), targetMs: TARGETS.restartMs, pass: startupPass },
      throughput: { connections: CONNECTIONS, warmupS: WARMUP_S, durationS: DURATION_S, ...runs },
      streaming,
      upload,
      workflow,
      speech,
    }),
  );
  // Misses are results, printed above; only an invalid run (non-2xx, errors, a stream that failed) fails the command.
  return Object.values(runs).every((r) => r.valid) && streaming.valid && upload.valid && speech.valid ? 0 : 1;
}

// ---- Streaming (issue 3) ----

async function benchStreaming(dataDir, port, code) {
  const fake = await startFakeModel();
  // LOG_LEVEL info: as quiet as warn, and it names the signal if the server is told to shut down.
  const server = await startServer(dataDir, port, code, { OPENAI_BASE_URL: fake.baseUrl, LOG_LEVEL: "info" });
  const base = `http://127.0.0.1:${port}`;
  // Node raises its soft limit on open files to the hard one at start; read what the server got.
  // Each chat holds a client socket and an upstream socket, plus PGlite's files and some slack.
  const openFiles = { ...openFilesLimit(server.child.pid), needed: 2 * STREAM.concurrent + 256 };
  const atStart = sampleRss(server.child.pid).stop(); // RSS once ready; VmHWM so far is the start-up peak

  // (a), (b): one stream at a time. The latency clients share the passport the server was polled with.
  const latency = await measureLatency({
    fake,
    modelUrl: fake.baseUrl,
    base,
    passport: server.token,
    streams: STREAM.latencyStreams,
    warmup: STREAM.latencyWarmup,
    tokens: STREAM.tokens,
    deadline: monoMs() + STREAM.latencyBudgetMs,
  });

  // (c): many at once, one passport (one end user) per client, fetched before the clock starts.
  const t0 = performance.now();
  const passports = await fetchPassports(base, code, STREAM.concurrent, STREAM.passportConcurrency);
  const passportMs = Math.round(performance.now() - t0);
  await fake.request({ type: "stats", resetPeak: true }, "stats");
  const rss = sampleRss(server.child.pid, 100);
  const acceptQueue = sampleAcceptQueue(port, 200);
  // CPU seconds each process spends during (c): who is the bottleneck on this machine.
  const loadBeforeC = os.loadavg().map((x) => +x.toFixed(2));
  const cpu0 = { server: cpuSeconds(server.child.pid), model: cpuSeconds(fake.child.pid), bench: process.cpuUsage() };
  const tcp0 = tcpCounters();
  const cStartEpochMs = Date.now();
  const concurrent = await concurrentStreams({
    base,
    passports,
    total: STREAM.concurrent,
    rampBatch: STREAM.rampBatch,
    rampIntervalMs: STREAM.rampIntervalMs,
    tokens: STREAM.tokens,
    deadline: monoMs() + STREAM.concurrentBudgetMs,
  });
  const memory = { afterStartRssMiB: atStart.beforeRssMiB, startupHwmMiB: atStart.hwmMiB, ...rss.stop() };
  const bench = process.cpuUsage(cpu0.bench);
  const tcp = tcpCountersSince(tcp0);
  const accept = acceptQueue.stop();
  const cpu = {
    serverS: +(cpuSeconds(server.child.pid) - cpu0.server).toFixed(1),
    modelS: +(cpuSeconds(fake.child.pid) - cpu0.model).toFixed(1),
    benchS: +((bench.user + bench.system) / 1e6).toFixed(1),
  };
  const model = await fake.request({ type: "stats" }, "stats");
  const exitedEarly = server.child.exitCode ?? server.child.signalCode;
  await sleep(200); // the last log lines
  const log = serverComplaints(server.output(), cStartEpochMs);
  if (exitedEarly === null) await stopServer(server);
  fake.child.kill("SIGTERM");

  const addedPass = !!latency.perToken && latency.perToken.addedMs.p50 < STREAM_TARGETS.addedPerTokenP50Ms;
  const firstEventPass = !!latency.firstToken && latency.firstToken.overModelMs.p50 < STREAM_TARGETS.firstEventOverMs;
  const c = {
    allOk: concurrent.failed === 0 && concurrent.ok === STREAM.concurrent,
    rssPass: memory.hwmMiB < STREAM_TARGETS.peakRssMiB,
  };
  return {
    valid: latency.errors.length === 0 && c.allOk && exitedEarly === null,
    model: { tokens: STREAM.tokens, tokenDelayMs: STREAM.tokenDelayMs, process: "own child (tsx test/bench/fake-model.ts)" },
    targets: STREAM_TARGETS,
    latency: { ...latency, addedPass, firstEventPass },
    concurrent: {
      ...concurrent,
      transports: "even: REST SSE, a connection each; odd: graphql-ws, a WebSocket each (one subscription per socket)",
      ramp: { batch: STREAM.rampBatch, intervalMs: STREAM.rampIntervalMs },
      passports: { perClient: true, count: passports.length, fetchMs: passportMs, concurrency: STREAM.passportConcurrency },
      allOk: c.allOk,
      peakModelStreams: model.peakOpen,
      model: { requests: model.total, completed: model.completed, aborted: model.aborted },
      memory,
      rssPass: c.rssPass,
      cpu,
      loadBefore: loadBeforeC,
      tcp,
      acceptQueue: accept,
      openFiles,
      serverExited: exitedEarly,
      serverLog: log,
    },
  };
}

function reportStreaming(st) {
  const { latency: l, concurrent: c } = st;
  const f = (x) => (x === undefined || x === null ? "" : x.toFixed(2));
  const row = (...cols) => console.log("  " + cols.map((col, i) => String(col)[i ? "padStart" : "padEnd"](i ? 9 : 52)).join(""));
  const pf = (pass) => (pass ? "PASS" : "MISS");
  console.log(
    `\nStreaming — demo chat app; fake model in its own process: ${st.model.tokens} tokens, ${st.model.tokenDelayMs} ms apart; one server, embedded PGlite, no Redis`,
  );
  console.log(
    `(a), (b) one stream at a time: ${l.streams?.direct ?? 0} direct and ${l.streams?.gateway ?? 0} gateway (REST SSE) streams, alternating, after ${STREAM.latencyWarmup} warm-up pairs;`,
  );
  console.log("  the fake stamps each token's write, the clients its arrival, on the machine's monotonic clock (method: test/bench/streaming.mjs)");
  if (l.perToken) {
    const t = l.perToken;
    const fb = l.firstToken;
    row("", "p50 ms", "p99 ms", "target", "result");
    row(`per token, model write → direct client (n=${t.samples.direct})`, f(t.directMs.p50), f(t.directMs.p99));
    row(`per token, model write → gateway client (n=${t.samples.gateway})`, f(t.gatewayMs.p50), f(t.gatewayMs.p99));
    row("(a) gateway-added latency per token", f(t.addedMs.p50), f(t.addedMs.p99), `p50 < ${STREAM_TARGETS.addedPerTokenP50Ms}`, pf(l.addedPass));
    row(`    all but the last token of each stream`, f(t.addedOtherTokensMs.p50), f(t.addedOtherTokensMs.p99));
    row(`    the last token of each stream (n=${l.streams.gateway})`, f(t.addedLastTokenMs.p50), f(t.addedLastTokenMs.p99));
    row("    inter-token gap at the direct client", f(t.gapMs.direct.p50), f(t.gapMs.direct.p99));
    row("    inter-token gap at the gateway client", f(t.gapMs.gateway.p50), f(t.gapMs.gateway.p99));
    row("request → first token, direct client", f(fb.directTtftMs.p50), f(fb.directTtftMs.p99));
    row("request → first message event, gateway client", f(fb.gatewayTtftMs.p50), f(fb.gatewayTtftMs.p99));
    row("    raw difference (gateway − direct, per percentile)", f(fb.rawDiffMs.p50), f(fb.rawDiffMs.p99));
    row("    model's own time to first token (delay + timer)", f(fb.modelOwnMs.p50), f(fb.modelOwnMs.p99));
    row("(b) gateway time to first event over the model's", f(fb.overModelMs.p50), f(fb.overModelMs.p99), `p50 < ${STREAM_TARGETS.firstEventOverMs}`, pf(l.firstEventPass));
  }
  for (const e of l.errors.slice(0, 10)) console.log(`  ERROR ${e}`);
  if (l.errors.length > 10) console.log(`  … and ${l.errors.length - 10} more errors`);

  console.log(
    `(c) ${c.total} chats at once on one instance: ${c.rest.started} over REST SSE (a connection each), ${c.graphql.started} over graphql-ws (a WebSocket each);` +
      `\n  started ${c.ramp.batch} every ${c.ramp.intervalMs} ms (all started after ${c.rampMs} ms); one passport per client (${c.passports.count} end users, fetched in ${c.passports.fetchMs} ms before the start)`,
  );
  const ms2 = (x) => (x ? `${x.p50} / ${x.p99}` : "—");
  const crow = (...cols) => console.log("  " + cols.map((col, i) => String(col)[i ? "padStart" : "padEnd"](i ? 14 : 16)).join(""));
  crow("", "started", "complete", "failed", "tokens", "stream ms", "1st token ms", "token gap ms");
  crow("", "", "and exact", "", "received", "p50 / p99", "p50 / p99", "p50/p99/max");
  const gap = (g) => (g ? `${Math.round(g.p50)}/${Math.round(g.p99)}/${Math.round(g.max)}` : "—");
  for (const [label, k] of [["REST SSE", c.rest], ["graphql-ws", c.graphql]]) {
    crow(label, k.started, k.ok, k.failed, k.tokensReceived, ms2(k.durationMs), ms2(k.ttftMs), gap(k.gapMs));
  }
  console.log(
    `  every chat complete with its ${st.model.tokens} tokens in order: ${c.ok} of ${c.total}  ${c.allOk ? "PASS" : "FAIL"}` +
      `\n  wall time ${c.wallMs} ms (first start → last end); peak streams open at once: ${c.peakInFlight} at the clients, ${c.peakModelStreams} at the model` +
      `\n  model requests ${c.model.requests} (during the whole streaming section), completed ${c.model.completed}, aborted ${c.model.aborted}`,
  );
  for (const [reason, x] of Object.entries(c.failures).sort((p, q) => q[1].count - p[1].count).slice(0, 10)) {
    console.log(`  FAILED ${x.count}× ${reason} (between ${x.firstAtMs} and ${x.lastAtMs} ms after the first start; at most ${x.tokensMax} tokens received)`);
  }
  const tcpText = Object.entries(c.tcp).map(([k, v]) => `${k} +${v}`).join(", ");
  console.log(`  kernel TCP counters during (c), system-wide: ${tcpText || "no change"}`);
  const q = c.acceptQueue;
  console.log(
    q
      ? `  server accept queue (ss, every ${q.intervalMs} ms when free): peak ${q.peak} of backlog ${q.backlog}, full in ${q.fullSamples} of ${q.samples} samples`
      : "  server accept queue: not sampled (no `ss` on this machine)",
  );
  const m = c.memory;
  console.log(
    `  CPU time during (c): server ${c.cpu.serverS} s, model ${c.cpu.modelS} s, bench (clients) ${c.cpu.benchS} s, in ${(c.wallMs / 1000).toFixed(1)} s wall` +
      ` on ${os.cpus().length} CPUs; load average before (c) ${c.loadBefore.join(" ")}`,
  );
  console.log(
    `  server RSS: ${m.afterStartRssMiB} MiB when ready (start-up peak ${m.startupHwmMiB}), ${m.beforeRssMiB} MiB before (c), ` +
      `${m.peakRssMiB} MiB peak sampled during (c) (VmRSS every ${m.intervalMs} ms, ${m.samples} samples)` +
      `\n  server peak RSS (VmHWM, whole life) ${m.hwmMiB} MiB   target < ${STREAM_TARGETS.peakRssMiB} MiB  ${c.rssPass ? "PASS" : "MISS"}`,
  );
  console.log(`  server open-files limit ${c.openFiles.soft} (hard ${c.openFiles.hard}), about ${c.openFiles.needed} needed`);
  if (c.serverExited !== null) console.log(`  SERVER EXITED during the run (${c.serverExited})`);
  const complaints = Object.entries(c.serverLog.counts);
  console.log(`  server log (warn and above, and any shutdown) during the streaming section: ${complaints.length ? "" : "nothing"}`);
  for (const [msg, n] of complaints.sort((x, y) => y[1] - x[1]).slice(0, 10)) console.log(`    ${n}× ${msg} (first ${c.serverLog.firstAtMs[msg]} ms after (c) started)`);
  for (const line of c.serverLog.other) console.log(`    ${line}`);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
