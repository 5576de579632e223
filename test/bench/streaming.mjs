// The streaming sections of `npm run bench` (issue 3): the clients that read a stream token by token
// and the figures made from what they saw. run.mjs owns the processes (server, fake model); this
// module only talks to them over 127.0.0.1, from the bench process.
import { execFile } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";
import { createClient } from "graphql-ws";

/** The system-wide monotonic clock (CLOCK_MONOTONIC), in ms: comparable with the fake model's stamps. */
export const monoMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Nearest-rank percentile (p in 0..100) of a non-empty list. */
export function percentile(xs, p) {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
const p50 = (xs) => percentile(xs, 50);
const p99 = (xs) => percentile(xs, 99);
const round = (x, digits = 2) => +x.toFixed(digits);

/** The tokens the fake model sends for stream `id` (see fake-model.ts): `<id>:<i>` and a space, the last without. */
export function expectedTokens(id, n) {
  return Array.from({ length: n }, (_, i) => `${id}:${i}${i < n - 1 ? " " : ""}`);
}

/**
 * POST a JSON body on a fresh connection and read the SSE answer as Dify's web client does: split on
 * "\n", hand every `data: ` line to `onData(payload, t)`, where t is when the chunk holding it arrived.
 * Resolves with the request's start instant when the response ends; rejects on a non-200, a connection
 * cut short, or the deadline (an absolute monoMs instant).
 */
export function postSse(url, { headers = {}, body, deadline }, onData) {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    let settled = false;
    const settle = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve({ t0 });
    };
    const t0 = monoMs();
    const req = http.request(
      url,
      {
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload), accept: "text/event-stream", ...headers },
      },
      (res) => {
        res.setEncoding("utf8");
        if (res.statusCode !== 200) {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => settle(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`)));
          return;
        }
        let buffer = "";
        res.on("data", (chunk) => {
          const t = monoMs();
          buffer += chunk;
          const lines = buffer.split("\n");
          buffer = lines.pop();
          try {
            for (const line of lines) if (line.startsWith("data: ")) onData(line.slice(6), t);
          } catch (err) {
            settle(err);
          }
        });
        res.on("end", () => settle());
        res.on("error", (err) => settle(err));
        res.on("close", () => settle(new Error("connection closed before the response ended")));
      },
    );
    const timer = setTimeout(() => settle(new Error("deadline passed")), Math.max(0, deadline - monoMs()));
    req.on("error", (err) => settle(err));
    req.end(payload);
  });
}

/** Read the fake model directly: POST {baseUrl}/chat/completions with stream: true. */
export async function directStream(baseUrl, id, deadline) {
  const tokens = [];
  let end = false;
  const { t0 } = await postSse(
    `${baseUrl}/chat/completions`,
    { body: { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: `bench ${id}` }] }, deadline },
    (data, t) => {
      if (data === "[DONE]") end = true;
      else {
        const content = JSON.parse(data).choices?.[0]?.delta?.content;
        if (content) tokens.push({ text: content, t });
      }
    },
  );
  return { id, t0, tokens, end, error: null };
}

/** Read the gateway's Dify SSE: POST /api/chat-messages, response_mode streaming. */
export async function restStream(base, passport, id, deadline) {
  const tokens = [];
  let end = false;
  let error = null;
  const { t0 } = await postSse(
    `${base}/api/chat-messages`,
    { headers: { "X-App-Passport": passport }, body: { query: `bench ${id}`, inputs: {}, response_mode: "streaming", conversation_id: "" }, deadline },
    (data, t) => {
      const e = JSON.parse(data);
      if (e.event === "message") tokens.push({ text: e.answer, t });
      else if (e.event === "message_end") end = true;
      else if (e.event === "error") error = `error event ${e.code}: ${e.message}`;
    },
  );
  return { id, t0, tokens, end, error };
}

const CHAT_SUBSCRIPTION = `subscription($input: ChatMessageInput!) { chatMessage(input: $input) {
  __typename ... on MessageDelta { answer } ... on GenerationFailed { code message } ... on AppError { code message } } }`;

/** graphql-ws failures arrive as an Error, a CloseEvent, or a list of GraphQL errors. */
function describeWsError(err) {
  if (err instanceof Error) return err.message;
  if (Array.isArray(err)) return `GraphQL errors: ${err.map((e) => e.message).join("; ")}`;
  if (err && typeof err.code === "number") return `socket closed ${err.code}${err.reason ? ` (${err.reason})` : ""}`;
  return String(err?.message ?? err);
}

/** The chatMessage subscription over graphql-ws, on a WebSocket of its own (closed when it completes). */
export function gqlStream(wsUrl, passport, id, deadline) {
  return new Promise((resolve, reject) => {
    const tokens = [];
    let end = false;
    let error = null;
    let settled = false;
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${passport}` },
      retryAttempts: 0,
      lazy: true,
    });
    const settle = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void client.dispose();
      if (err) reject(err instanceof Error ? err : new Error(describeWsError(err)));
      else resolve({ id, t0, tokens, end, error });
    };
    const timer = setTimeout(() => settle(new Error("deadline passed")), Math.max(0, deadline - monoMs()));
    const t0 = monoMs();
    client.subscribe(
      { query: CHAT_SUBSCRIPTION, variables: { input: { query: `bench ${id}` } } },
      {
        next: (result) => {
          const t = monoMs();
          if (result.errors?.length) {
            error = `GraphQL errors: ${result.errors.map((e) => e.message).join("; ")}`;
            return;
          }
          const e = result.data?.chatMessage;
          if (e?.__typename === "MessageDelta") tokens.push({ text: e.answer, t });
          else if (e?.__typename === "MessageEnd") end = true;
          else if (e?.__typename === "GenerationFailed" || e?.__typename === "AppError") error = `${e.__typename} ${e.code}: ${e.message}`;
        },
        error: (err) => settle(err),
        complete: () => settle(),
      },
    );
  });
}

/** Why a finished stream is wrong, or null: it must end normally with exactly the expected tokens, in order. */
export function verify(run, n) {
  if (run.error) return run.error;
  const expected = expectedTokens(run.id, n);
  const texts = run.tokens.map((t) => t.text);
  if (texts.join("") !== expected.join("")) {
    const seen = new Set(texts);
    const lost = expected.filter((t) => !seen.has(t)).length;
    return `answer differs from the expected text: ${texts.length} tokens received, ${lost} of ${n} missing${lost === 0 ? " (reordered or extra)" : ""}`;
  }
  if (texts.length !== n || texts.some((t, i) => t !== expected[i])) return `answer text right but split into ${texts.length} events instead of ${n} tokens`;
  if (!run.end) return "no end event (message_end / MessageEnd)";
  return null;
}

// ---- (a) and (b): one stream at a time ----

/**
 * Alternate direct and gateway (REST SSE) streams, one at a time, `warmup` pairs discarded.
 *
 * Method. The fake model stamps, on the system-wide monotonic clock, when it starts a stream's
 * per-token delays (replyAt) and when it hands each token to its socket (write); the clients stamp,
 * on the same clock, when each token arrives. So for every token we have its one-way latency from
 * the model's write to the client's read, on each path:
 *     direct:  L_d = arrival at a client of the fake          − write by the fake
 *     gateway: L_g = arrival at a client of the gateway's SSE − write by the fake (of that stream's token)
 * The gateway-added latency of a token is L_g − median(L_d): what the gateway path costs over the
 * typical direct hop. Comparing two different streams token by token (gateway arrival − direct
 * arrival for the same index) would instead add the difference of two independent runs of the
 * fake's 20 ms timers, whose lateness drifts by milliseconds over 50 tokens and would swamp a 1 ms
 * figure; inter-token gaps would cancel any constant delay the gateway adds. Stamping the writes
 * removes the timers from the measurement entirely.
 *
 * Time to first event, likewise: the model's own time to first token is write(token 0) − replyAt
 * (its 20 ms delay and that timer's lateness). A client's time to first token minus that is its
 * overhead: for the direct client, the bare HTTP exchange; for the gateway, the gateway's request
 * handling (auth, the conversation and message rows, the prompt, the upstream call) on top.
 * Gateway over model = gateway overhead − median(direct overhead), per gateway stream. The raw
 * client-side times to first token are reported alongside.
 */
export async function measureLatency({ fake, modelUrl, base, passport, streams, warmup, tokens, deadline }) {
  await fake.request({ type: "record", on: true }, "recording");
  const direct = [];
  const gateway = [];
  const errors = [];
  for (let k = 0; k < warmup + streams; k++) {
    if (monoMs() > deadline) {
      errors.push(`deadline passed after ${k} of ${warmup + streams} stream pairs`);
      break;
    }
    for (const [kind, run] of [
      ["direct", () => directStream(modelUrl, `a${2 * k}`, deadline)],
      ["gateway", () => restStream(base, passport, `a${2 * k + 1}`, deadline)],
    ]) {
      const r = await run().catch((err) => ({ failed: err.message }));
      const problem = r.failed ?? verify(r, tokens);
      if (problem) errors.push(`${kind} stream ${k}: ${problem}`);
      else if (k >= warmup) (kind === "direct" ? direct : gateway).push(r);
      await sleep(10); // let either side finish its bookkeeping (the gateway saves the message)
    }
  }
  const { replyAt, writes } = await fake.request({ type: "dump" }, "dump");
  await fake.request({ type: "record", on: false }, "recording");

  const key = (text) => text.trimEnd();
  const missing = (runs) => runs.flatMap((r) => r.tokens.filter((t) => writes[key(t.text)] === undefined).map((t) => key(t.text)));
  const unstamped = [...missing(direct), ...missing(gateway)];
  if (unstamped.length) errors.push(`${unstamped.length} tokens without a write stamp from the fake, e.g. ${unstamped[0]}`);
  if (!direct.length || !gateway.length || unstamped.length) return { errors };

  // (a) per token
  const oneWay = (runs) => runs.flatMap((r) => r.tokens.map((t) => t.t - writes[key(t.text)]));
  const Ld = oneWay(direct);
  const Lg = oneWay(gateway);
  const baseline = p50(Ld);
  const added = Lg.map((x) => x - baseline);
  // The last token apart: the gateway saves the finished message right after relaying it, and it
  // shows a delay the others do not.
  const lastAdded = gateway.map((r) => r.tokens.at(-1).t - writes[key(r.tokens.at(-1).text)] - baseline);
  const otherAdded = gateway.flatMap((r) => r.tokens.slice(0, -1).map((t) => t.t - writes[key(t.text)] - baseline));
  const gaps = (runs) => runs.flatMap((r) => r.tokens.slice(1).map((t, i) => t.t - r.tokens[i].t));
  const gd = gaps(direct);
  const gg = gaps(gateway);

  // (b) first token
  const ttft = (r) => r.tokens[0].t - r.t0;
  const modelOwn = (r) => writes[key(r.tokens[0].text)] - replyAt[r.id];
  const directTtft = direct.map(ttft);
  const gatewayTtft = gateway.map(ttft);
  const directOver = direct.map((r) => ttft(r) - modelOwn(r));
  const gatewayOver = gateway.map((r) => ttft(r) - modelOwn(r));
  const overModel = gatewayOver.map((x) => x - p50(directOver));

  const pair = (xs) => ({ p50: round(p50(xs), 3), p99: round(p99(xs), 3) });
  return {
    errors,
    streams: { direct: direct.length, gateway: gateway.length, warmupPairs: warmup },
    perToken: {
      samples: { direct: Ld.length, gateway: Lg.length },
      directMs: pair(Ld),
      gatewayMs: pair(Lg),
      addedMs: pair(added),
      addedLastTokenMs: pair(lastAdded),
      addedOtherTokensMs: pair(otherAdded),
      gapMs: { direct: pair(gd), gateway: pair(gg) },
    },
    firstToken: {
      directTtftMs: pair(directTtft),
      gatewayTtftMs: pair(gatewayTtft),
      rawDiffMs: { p50: round(p50(gatewayTtft) - p50(directTtft), 3), p99: round(p99(gatewayTtft) - p99(directTtft), 3) },
      modelOwnMs: pair([...direct, ...gateway].map(modelOwn)),
      directOverheadMs: pair(directOver),
      overModelMs: pair(overModel),
    },
  };
}

// ---- (c) many streams at once ----

/**
 * The kernel's TCP counters that tell a refused or reset connection apart (system-wide, so take a
 * difference around a run): listen-queue overflows and drops, SYN-queue cookies, resets sent.
 */
export function tcpCounters() {
  const out = {};
  for (const file of ["/proc/net/netstat", "/proc/net/snmp"]) {
    let lines;
    try {
      lines = fs.readFileSync(file, "utf8").trim().split("\n");
    } catch {
      continue;
    }
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = lines[i].split(/\s+/);
      const values = lines[i + 1].split(/\s+/);
      const prefix = names[0];
      names.forEach((name, j) => {
        const key = `${prefix}${name}`;
        if (/^(TcpExt:(ListenOverflows|ListenDrops|TCPReqQFullDoCookies|TCPReqQFullDrop|TCPAbortOnData)|Tcp:(OutRsts|EstabResets|AttemptFails))$/.test(key)) out[key.replace(":", ".")] = Number(values[j]);
      });
    }
  }
  return out;
}

/** What changed in tcpCounters() since `before`, non-zero entries only. */
export function tcpCountersSince(before) {
  const now = tcpCounters();
  return Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, d]) => d !== 0));
}

/**
 * The accept queue of the server's listening socket, every `intervalMs`, read with `ss` (netlink, in
 * its own short-lived process, so the clients' event loop is not held up): Recv-Q is how many
 * handshakes the kernel has completed that the server has not yet accept()ed, Send-Q its backlog.
 * A queue at its backlog means new connections are being dropped. A sample is skipped while the
 * previous `ss` still runs, so count samples, not seconds. stop() gives null without `ss`.
 */
export function sampleAcceptQueue(port, intervalMs = 200) {
  let backlog = null;
  let peak = 0;
  let fullSamples = 0;
  let samples = 0;
  let busy = false;
  let failed = false;
  const timer = setInterval(() => {
    if (busy || failed) return;
    busy = true;
    execFile("ss", ["-ltnH", `sport = :${port}`], { timeout: 2000 }, (err, stdout) => {
      busy = false;
      const cols = stdout?.trim().split(/\s+/);
      if (err || !cols || cols.length < 3) {
        failed = true;
        return;
      }
      const queue = Number(cols[1]);
      backlog = Number(cols[2]);
      samples++;
      peak = Math.max(peak, queue);
      if (queue >= backlog) fullSamples++;
    });
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return samples ? { backlog, peak, fullSamples, samples, intervalMs } : null;
    },
  };
}

/** CPU time (user + system) a process has used so far, in seconds; null once it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields[0] is the state (field 3)
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime (fields 14, 15)
  } catch {
    return null;
  }
}
const CLOCK_TICKS = 100; // USER_HZ: 100 on every Linux architecture Node runs on

/** Sample VmRSS and VmHWM of a process every `intervalMs`; stop() returns the figures in MiB. */
export function sampleRss(pid, intervalMs = 100) {
  const read = () => {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
      const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
      return { rss: kib("VmRSS"), hwm: kib("VmHWM") };
    } catch {
      return null; // the process is gone
    }
  };
  const first = read();
  let peakRss = first?.rss ?? 0;
  let hwm = first?.hwm ?? 0;
  let samples = 0;
  const timer = setInterval(() => {
    const s = read();
    if (!s) return;
    samples++;
    peakRss = Math.max(peakRss, s.rss);
    hwm = Math.max(hwm, s.hwm);
  }, intervalMs);
  const mib = (kib) => round(kib / 1024, 1);
  return {
    stop() {
      clearInterval(timer);
      const last = read();
      if (last) {
        peakRss = Math.max(peakRss, last.rss);
        hwm = Math.max(hwm, last.hwm);
      }
      return { beforeRssMiB: mib(first?.rss ?? NaN), peakRssMiB: mib(peakRss), hwmMiB: mib(hwm), afterRssMiB: mib(last?.rss ?? NaN), samples, intervalMs };
    },
  };
}

/**
 * `total` chats at once: even ones over REST SSE, odd ones over graphql-ws (one WebSocket each),
 * started in batches of `rampBatch` every `rampIntervalMs`. Every stream must end normally with its
 * `tokens` tokens in order by `deadline`; anything else is a failure, counted by reason.
 */
export async function concurrentStreams({ base, passports, total, rampBatch, rampIntervalMs, tokens, deadline }) {
  const wsUrl = base.replace(/^http/, "ws") + "/graphql";
  let inFlight = 0;
  let peakInFlight = 0;
  const results = [];
  const tStart = monoMs();
  let tLastLaunch = tStart;
  let tLastEnd = tStart;

  const one = async (i) => {
    const kind = i % 2 === 0 ? "rest" : "graphql";
    const id = `c${i}`;
    const passport = passports[i % passports.length];
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    const t0 = monoMs();
    let r;
    try {
      r = kind === "rest" ? await restStream(base, passport, id, deadline) : await gqlStream(wsUrl, passport, id, deadline);
    } catch (err) {
      r = { id, failed: err.message, tokens: [] };
    }
    inFlight--;
    const tEnd = monoMs();
    tLastEnd = Math.max(tLastEnd, tEnd);
    const problem = r.failed ?? verify(r, tokens);
    const gaps = r.tokens.slice(1).map((t, k) => t.t - r.tokens[k].t);
    results.push({ kind, problem, gaps, tokens: r.tokens.length, durationMs: tEnd - t0, ttftMs: r.tokens[0] ? r.tokens[0].t - t0 : null, endAt: tEnd - tStart });
  };

  const running = [];
  for (let i = 0; i < total; i += rampBatch) {
    for (let j = i; j < Math.min(total, i + rampBatch); j++) running.push(one(j));
    tLastLaunch = monoMs();
    if (i + rampBatch < total) await sleep(rampIntervalMs);
  }
  await Promise.all(running);

  // Failures by reason, with when they happened (ms after the first start) and how many tokens they had got.
  const failures = {};
  for (const r of results) {
    if (!r.problem) continue;
    const reason = `${r.kind}: ${r.problem.replace(/\bc\d+\b/g, "c#")}`;
    const f = (failures[reason] ??= { count: 0, firstAtMs: Infinity, lastAtMs: 0, tokensMax: 0 });
    f.count++;
    f.firstAtMs = Math.min(f.firstAtMs, Math.round(r.endAt));
    f.lastAtMs = Math.max(f.lastAtMs, Math.round(r.endAt));
    f.tokensMax = Math.max(f.tokensMax, r.tokens);
  }
  const ok = results.filter((r) => !r.problem);
  const byKind = (kind) => {
    const rs = results.filter((r) => r.kind === kind);
    const good = rs.filter((r) => !r.problem);
    const gaps = good.flatMap((r) => r.gaps);
    return {
      started: rs.length,
      ok: good.length,
      failed: rs.length - good.length,
      tokensReceived: rs.reduce((n, r) => n + r.tokens, 0),
      durationMs: good.length ? { p50: Math.round(p50(good.map((r) => r.durationMs))), p99: Math.round(p99(good.map((r) => r.durationMs))) } : null,
      ttftMs: good.length ? { p50: Math.round(p50(good.map((r) => r.ttftMs))), p99: Math.round(p99(good.map((r) => r.ttftMs))) } : null,
      // Gaps between two tokens of one stream at the client: 20 ms from the model, more when something stalls.
      gapMs: gaps.length ? { p50: round(p50(gaps), 1), p99: round(p99(gaps), 1), max: round(Math.max(...gaps), 1) } : null,
    };
  };
  return {
    total,
    ok: ok.length,
    failed: results.length - ok.length,
    failures,
    rampMs: Math.round(tLastLaunch - tStart),
    wallMs: Math.round(tLastEnd - tStart),
    peakInFlight,
    rest: byKind("rest"),
    graphql: byKind("graphql"),
  };
}
