// The upload figures for `npm run bench`, runnable alone too (`node test/bench/upload.mjs` after a build):
// a 90 MiB .mp4 POSTed to /api/files/upload as multipart field `file`, streamed from a file on disk,
// against the same bytes piped by a bare node:http server into a file (the baseline, same run); and the
// server's RSS growth while it takes the upload (VmRSS from /proc, sampled every few ms). Local disk
// storage, then S3 (s3rver in its own process). Server, baseline and s3rver each run in their own child.
import { spawn, fork, execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const APP_DSL = path.join(ROOT, "test/fixtures/apps/chat-file-uploads.yml");
const FILE_BYTES = 90 * 1024 * 1024; // within video's default 100 MiB limit
const RUNS = 3; // alternating baseline and gateway; the median of each
const S3_RUNS = 2; // s3rver is slow: two runs, the first of which also loads the SDK
const RSS_INTERVAL_MS = 10;
// The target: a 90 MB upload must not grow the server's RSS by more than a few tens of MB.
const TARGETS = { rssGrowthMiB: 50 };
// An MP4 `ftyp` box (brand isom): what file-type recognises as video/mp4, so the .mp4 name fits its bytes.
const MP4_HEAD = Buffer.from("000000206674797069736f6d0000020069736f6d69736f3261766331" + "6d703431", "hex");

const mib = (bytes) => bytes / (1024 * 1024);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** The upload: an MP4 header, then 1 MiB of random bytes repeated (no compressible runs), on disk. */
function writeUploadFile(file) {
  const block = crypto.randomBytes(1 << 20);
  const fd = fs.openSync(file, "w");
  try {
    for (let written = 0; written < FILE_BYTES; written += block.length) {
      const chunk = written === 0 ? Buffer.concat([MP4_HEAD, block.subarray(MP4_HEAD.length)]) : block;
      fs.writeSync(fd, chunk, 0, Math.min(chunk.length, FILE_BYTES - written));
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** VmRSS of `pid` in KiB, or NaN once it is gone. */
function rssKiB(pid) {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/**
 * POST `file` as multipart field `file`, streamed from disk (1 MiB reads, back-pressured by the socket).
 * While it runs, `pid`'s RSS is sampled every RSS_INTERVAL_MS (when a pid is given).
 */
function postFile(url, headers, file, { filename, type, pid }) {
  const size = fs.statSync(file).size;
  const boundary = `----appgraph-bench-${crypto.randomBytes(8).toString("hex")}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const bytes = head.length + size + tail.length;
  const rssBefore = pid ? rssKiB(pid) : NaN;
  let rssPeak = rssBefore;
  let samples = 0;
  const sampler = pid
    ? setInterval(() => {
        samples++;
        rssPeak = Math.max(rssPeak, rssKiB(pid));
      }, RSS_INTERVAL_MS)
    : null;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(
      url,
      { method: "POST", agent: false, headers: { ...headers, "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": bytes } },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const ms = performance.now() - t0;
          clearInterval(sampler);
          if (pid) rssPeak = Math.max(rssPeak, rssKiB(pid));
          const body = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode, body, ms, bytes, mibPerS: mib(bytes) / (ms / 1000), rss: pid ? { beforeMiB: rssBefore / 1024, peakMiB: rssPeak / 1024, samples } : null });
        });
      },
    );
    req.on("error", (err) => {
      clearInterval(sampler);
      reject(err);
    });
    req.write(head);
    const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
    stream.on("error", (err) => req.destroy(err));
    stream.pipe(req, { end: false });
    stream.on("end", () => req.end(tail));
  });
}

/** `node dist/server.js` on a free port with `env`; resolves with its base URL once it listens. */
function startServer(env, children) {
  const server = spawn(process.execPath, [path.join(ROOT, "dist/server.js")], { cwd: ROOT, env: { ...env, PORT: "0", HOST: "127.0.0.1" }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(server);
  let out = "";
  return new Promise((resolve, reject) => {
    const keep = (d) => {
      if (out.length < 100_000) out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) resolve({ child: server, base: m[1], output: () => out });
    };
    server.stdout.on("data", keep);
    server.stderr.on("data", keep);
    server.once("exit", (code) => reject(new Error(`server exited ${code}:\n${out}`)));
  });
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", resolve);
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
  });
}

/** A forked child that answers its first IPC message with `{port}` or a ready message. */
function forkReady(script, message, children, options = {}) {
  const child = fork(script, [], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit", "ipc"], ...options });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once("message", (m) => resolve({ child, ...m }));
    child.once("exit", (code) => reject(new Error(`${path.basename(script)} exited (${code})`)));
    if (message) child.send(message);
  });
}

/** Uploads to one server: `runs` of them, each against the bare baseline just before it. */
async function measure({ base, passport, pid, bareUrl, file, runs }) {
  const gateway = [];
  const bare = [];
  for (let i = 0; i < runs; i++) {
    const b = await postFile(bareUrl, {}, file, { filename: "clip.mp4", type: "video/mp4" });
    if (b.status !== 201 || JSON.parse(b.body).size !== b.bytes) throw new Error(`bare upload server answered ${b.status}: ${b.body}`);
    bare.push(b);
    const g = await postFile(`${base}/api/files/upload`, { "x-app-passport": passport }, file, { filename: "clip.mp4", type: "video/mp4", pid });
    const body = g.status === 201 ? JSON.parse(g.body) : null;
    if (body?.size !== FILE_BYTES || body.mime_type !== "video/mp4") throw new Error(`POST /api/files/upload answered ${g.status}: ${g.body.slice(0, 500)}`);
    gateway.push(g);
  }
  const gatewayMiBps = median(gateway.map((g) => g.mibPerS));
  const bareMiBps = median(bare.map((b) => b.mibPerS));
  const growth = gateway.map((g) => g.rss.peakMiB - g.rss.beforeMiB);
  return {
    runs,
    bareMiBps: round(bareMiBps),
    gatewayMiBps: round(gatewayMiBps),
    ratio: round(gatewayMiBps / bareMiBps, 3),
    gatewayMs: gateway.map((g) => Math.round(g.ms)),
    bareMs: bare.map((b) => Math.round(b.ms)),
    rss: {
      intervalMs: RSS_INTERVAL_MS,
      beforeMiB: gateway.map((g) => round(g.rss.beforeMiB)),
      peakMiB: gateway.map((g) => round(g.rss.peakMiB)),
      growthMiB: growth.map((x) => round(x)),
      maxGrowthMiB: round(Math.max(...growth)),
      samples: gateway.map((g) => g.rss.samples),
      target: TARGETS.rssGrowthMiB,
      pass: Math.max(...growth) < TARGETS.rssGrowthMiB,
    },
  };
}

/**
 * `dataDir`: a migrated data directory to reuse (run.mjs passes its own, saving the migrations);
 * otherwise a fresh one. The upload app is imported into it.
 */
export async function uploadBench({ dataDir } = {}) {
  const started = performance.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-uploadbench-"));
  const children = [];
  try {
    const file = path.join(dir, "clip.mp4");
    writeUploadFile(file);
    const bareDir = path.join(dir, "bare");
    fs.mkdirSync(bareDir);
    const env = { ...process.env, DATA_DIR: dataDir ?? path.join(dir, "data"), LOG_LEVEL: "warn" };
    for (const name of ["DATABASE_URL", "REDIS_URL", "OPENAI_BASE_URL", ...Object.keys(env).filter((k) => k.startsWith("S3_") || k.startsWith("UPLOAD_"))]) delete env[name];
    // Set-up at once, before anything is measured: the baseline, s3rver (slow to load), the app.
    const [bare, s3rver, code] = await Promise.all([
      forkReady(path.join(ROOT, "test/bench/bare-upload-server.mjs"), { dir: bareDir }, children),
      forkReady(path.join(ROOT, "test/bench/s3-server.ts"), null, children, { execArgv: ["--import", "tsx"], env: { ...process.env, NODE_NO_WARNINGS: "1" } }),
      new Promise((resolve, reject) =>
        execFile(process.execPath, [path.join(ROOT, "dist/cli.js"), "app", "import", APP_DSL], { cwd: ROOT, env, encoding: "utf8" }, (err, out) =>
          err ? reject(err) : resolve(JSON.parse(out.trim().split("\n").at(-1)).code),
        ),
      ),
    ]);
    const bareUrl = `http://127.0.0.1:${bare.port}/`;

    const one = async (storage, extraEnv, runs) => {
      const server = await startServer({ ...env, ...extraEnv }, children);
      try {
        const res = await fetch(`${server.base}/api/passport`, { headers: { "x-app-code": code } });
        const passport = (await res.json()).access_token;
        return { storage, valid: true, ...(await measure({ base: server.base, passport, pid: server.child.pid, bareUrl, file, runs })) };
      } catch (err) {
        await new Promise((r) => setTimeout(r, 500)); // the server's last log lines
        const logged = server.output().split("\n").filter((l) => l.startsWith("{") && /"level":[56]0/.test(l)).slice(0, 3);
        return { storage, valid: false, error: err.message, serverLog: logged.map((l) => JSON.parse(l).err?.message ?? l) };
      } finally {
        await stop(server.child);
      }
    };

    const local = await one("local disk", {}, RUNS);
    const c = s3rver.config;
    const s3Env = { S3_BUCKET: c.bucket, S3_ENDPOINT: c.endpoint, S3_REGION: c.region, S3_ACCESS_KEY_ID: c.credentials.accessKeyId, S3_SECRET_ACCESS_KEY: c.credentials.secretAccessKey, S3_FORCE_PATH_STYLE: "true" };
    const s3 = await one("S3 (s3rver)", s3Env, S3_RUNS);
    const wallS = round((performance.now() - started) / 1000);
    return { valid: local.valid && s3.valid, fileMiB: mib(FILE_BYTES), kind: "video (.mp4, default 100 MiB limit)", wallS, local, s3 };
  } finally {
    for (const child of children) child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  }
}

export function printUploadBench(u) {
  console.log(`\nUpload — POST /api/files/upload, ${u.fileMiB} MiB ${u.kind}, streamed from disk; baseline: the same multipart bytes piped by bare node:http into a file`);
  const row = (...cols) => console.log("  " + cols.map((c, i) => String(c)[i ? "padStart" : "padEnd"](i ? 11 : 14)).join(""));
  row("", "bare MiB/s", "gw MiB/s", "ratio", "runs", "RSS before", "RSS peak", "growth", "target", "result");
  for (const r of [u.local, u.s3]) {
    if (!r.valid) {
      console.log(`  ${r.storage.padEnd(14)}INVALID: ${r.error.split("\n")[0]}`);
      for (const line of r.serverLog) console.log(`    server: ${line.split("\n")[0]}`);
      continue;
    }
    const last = r.rss.beforeMiB.length - 1;
    row(r.storage, r.bareMiBps, r.gatewayMiBps, `${r.ratio.toFixed(2)}x`, r.runs, r.rss.beforeMiB[last], r.rss.peakMiB[last], r.rss.maxGrowthMiB, `< ${r.rss.target}`, r.rss.pass ? "PASS" : "MISS");
  }
  const perRun = [u.local, u.s3].filter((r) => r.valid).map((r) => `${r.storage} ${r.rss.growthMiB.join(", ")}`);
  console.log(`  growth = server VmRSS peak (sampled every ${RSS_INTERVAL_MS} ms) less VmRSS just before the upload; the worst run shown. Per run (MiB): ${perRun.join("; ")}`);
  console.log(`  S3's figure is bounded by s3rver (a test server in one Node process), not by S3; section wall time ${u.wallS} s (app import, two server starts, s3rver)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const u = await uploadBench();
  printUploadBench(u);
  console.log(JSON.stringify({ upload: u }));
}
