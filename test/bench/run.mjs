// `npm run bench`: start-up time and throughput of the built server (dist/), embedded PGlite.
// Every server runs in its own child process; this process only generates load (autocannon)
// and measures, so no server shares an event loop with the load generator.
import { spawn, fork } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import autocannon from "autocannon";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SERVER_JS = path.join(ROOT, "dist/server.js");
const BARE_JS = fileURLToPath(new URL("./bare-server.mjs", import.meta.url));

const RESTARTS = 3;
const WARMUP_S = 2;
const DURATION_S = 8;
const CONNECTIONS = 10;
const TARGETS = { restartMs: 2000, rest: 0.6, graphql: 0.5 };
const GRAPHQL_BODY = JSON.stringify({ query: "{ currentApp { ... on App { id name } } }" });

// ---- Cleanup: whatever happens, no child outlives us and no temp dir stays behind. ----
const children = new Set();
const tempDirs = [];
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(1));
// Bounded: the whole run takes ~50 s; give up well before anyone wonders.
setTimeout(() => {
  console.error("bench: gave up after 150 s");
  process.exit(1);
}, 150_000).unref();

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
async function startServer(dataDir, port, knownCode) {
  const { DATABASE_URL, REDIS_URL, ...env } = process.env; // force embedded PGlite, no Redis
  const t0 = performance.now();
  const child = spawn(process.execPath, [SERVER_JS], {
    cwd: ROOT,
    env: { ...env, PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir, LOG_LEVEL: "warn" },
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
  child.stdout.on("data", (d) => {
    output += d;
    // The app line, e.g. `  app "appgraph demo chat" (chat): share code S189nHlHpacGRyfB`.
    code ??= /^ +app .*: share code (\S+)\n/m.exec(output)?.[1];
  });
  child.stderr.on("data", (d) => (output += d));

  const url = `http://127.0.0.1:${port}/api/passport`;
  for (;;) {
    if (exitStatus !== null) throw new Error(`server exited (${exitStatus}) before answering:\n${output}`);
    if (performance.now() - t0 > 60_000) throw new Error(`server not ready after 60 s:\n${output}`);
    if (code) {
      const res = await request(url, { headers: { "X-App-Code": code } }).catch(() => null);
      if (res?.status === 200) {
        const ms = performance.now() - t0;
        return { child, exited, code, port, ms, token: JSON.parse(res.body).access_token };
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
  console.log("");
  console.log(
    JSON.stringify({
      node: process.version,
      cpus: os.cpus().length,
      loadBefore,
      startup: { firstMs: Math.round(firstMs), restartMs: restartMs.map(Math.round), restartMedianMs: Math.round(restartMedianMs), targetMs: TARGETS.restartMs, pass: startupPass },
      throughput: { connections: CONNECTIONS, warmupS: WARMUP_S, durationS: DURATION_S, ...runs },
    }),
  );
  // Misses are results, printed above; only an invalid run (non-2xx, errors) fails the command.
  return Object.values(runs).every((r) => r.valid) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
