// Sending the fuzz requests and judging the answers: what counts as a problem is written here once.
import http from "node:http";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import type { LogLine } from "../support/log.js";
import type { GqlRequest } from "./graphql-requests.js";
import { short, type RestRequest } from "./rest-requests.js";

/** A status, and every JSON value the answer held (the body, or each SSE / graphql-ws message). */
export type Answer = { status: number; values: unknown[]; problems: string[]; bodyless?: boolean };

/** Problems that are the server's own failure (as opposed to a client error in the wrong shape). */
export const isInternal = (problem: string) => /^HTTP 5|internal error|^logged at level \d+: (?!yoga \[)/.test(problem);

/** Everything wrong with an answer: 5xx, a body that is not JSON, an error without Dify's envelope, an internal error inside. */
export function judge(answer: Answer, surface: "rest" | "graphql", newLogs: LogLine[]): string[] {
  const problems = [...answer.problems];
  if (answer.status >= 500) problems.push(`HTTP ${answer.status}`);
  if (surface === "rest" && answer.status >= 400 && !answer.bodyless) {
    const body = answer.values[0] as Record<string, unknown> | undefined;
    if (!body || typeof body.code !== "string" || typeof body.message !== "string" || body.status !== answer.status) {
      problems.push(`error without Dify's envelope: ${short(JSON.stringify(body) ?? "no body")}`);
    }
  }
  for (const value of answer.values) walk(value, problems);
  for (const line of newLogs) problems.push(`logged at level ${line.level}: ${line.msg} ${short(JSON.stringify(line.err ?? line.args ?? ""), 400)}`);
  return problems;
}

/** Internal errors nested anywhere: a `status` of 5xx next to a `code`, or a masked GraphQL error. */
function walk(value: unknown, problems: string[], depth = 0) {
  if (!value || typeof value !== "object" || depth > 50) return;
  if (Array.isArray(value)) {
    for (const v of value) walk(v, problems, depth + 1);
    return;
  }
  const o = value as Record<string, any>;
  if (typeof o.status === "number" && o.status >= 500 && ("code" in o || "message" in o)) problems.push(`internal error in the answer: ${short(JSON.stringify(o))}`);
  if (o.extensions?.code === "INTERNAL_SERVER_ERROR" || o.message === "Unexpected error.") problems.push(`masked internal error: ${short(JSON.stringify(o))}`);
  for (const v of Object.values(o)) walk(v, problems, depth + 1);
}

/** Headers as Node can send them: it refuses DEL and controls, and hostile values may hold them. */
function sendable(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.replace(/[^\t\x20-\x7e\x80-\xff]/g, "?").trim() || "x"]));
}

type Reply = { status: number; type: string; text: string };

/**
 * One request on a connection of its own (node:http, no agent): with keep-alive, a socket the server
 * closes as idle just as the client reuses it resets the request, which says nothing about the input.
 */
function request(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array; signal?: AbortSignal }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // Node sends DELETE bodies with neither a length nor chunks: say the length, as fetch does.
    const headers = init.body === undefined ? init.headers : { ...init.headers, "content-length": String(Buffer.byteLength(init.body)) };
    const req = http.request(url, { method: init.method ?? "GET", headers, agent: false, signal: init.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"] ?? ""), text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

async function readBody(res: Reply, problems: string[]): Promise<unknown[]> {
  const { type, text } = res;
  if (type.startsWith("text/event-stream")) {
    const values: unknown[] = [];
    for (const line of text.split("\n")) {
      if (!line.startsWith("data:")) continue;
      const data = line.slice(line.startsWith("data: ") ? 6 : 5);
      if (data === "") continue; // yoga's `event: complete`
      try {
        values.push(JSON.parse(data));
      } catch {
        problems.push(`SSE data that is not JSON: ${short(data)}`);
      }
    }
    return values;
  }
  if (text === "") return [];
  try {
    return [JSON.parse(text)];
  } catch {
    problems.push(`${type || "no content type"} body that is not JSON: ${short(text)}`);
    return [];
  }
}

/** How long an answer may take before it counts as none: a hung request, not a slow one (they take milliseconds). */
const HUNG_MS = 30_000;

/** A request the server dropped, or left hanging, is a problem too, not a crash of the test. */
export async function answered(send: (signal: AbortSignal) => Promise<Answer>): Promise<Answer> {
  const signal = AbortSignal.timeout(HUNG_MS);
  try {
    return await send(signal);
  } catch (err) {
    if (signal.aborted) return { status: 0, values: [], problems: [`no answer within ${HUNG_MS / 1000} s`] };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { status: 0, values: [], problems: [`no answer: ${String(err)} ${cause?.code ?? cause?.message ?? ""}`] };
  }
}

export async function sendRest(base: string, req: RestRequest, signal?: AbortSignal): Promise<Answer> {
  const res = await request(base + req.target, { method: req.method, headers: sendable(req.headers), body: req.body, signal });
  const problems: string[] = [];
  const values = await readBody(res, problems);
  const bodyless = req.method === "HEAD" || res.status === 204;
  if (!values.length && !bodyless) problems.push(`HTTP ${res.status} without a body`);
  return { status: res.status, values, problems, bodyless };
}

export async function sendGraphql(base: string, req: GqlRequest, signal?: AbortSignal): Promise<Answer> {
  if (req.transport === "ws") return sendWs(base, req, signal);
  const problems: string[] = [];
  let res: Reply;
  // GET carries the operation in the URL: long ones go as POST (a URL past Node's header limit is a 431 from Node itself).
  if (req.transport === "get" && req.body.length < 6_000) {
    const payload = JSON.parse(req.body) as Record<string, unknown>;
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(payload)) if (v !== undefined && v !== null) params.set(k, typeof v === "string" ? v : JSON.stringify(v));
    res = await request(`${base}/graphql?${params}`, { headers: { ...sendable(req.headers), accept: "application/graphql-response+json" }, signal });
  } else {
    const accept = req.transport === "sse" ? "text/event-stream" : "application/json";
    res = await request(`${base}/graphql`, { method: "POST", headers: { ...sendable(req.headers), "content-type": "application/json", accept }, body: req.body, signal });
  }
  const values = await readBody(res, problems);
  // A subscription may end without an event (nothing after `after`); any other answer has a body.
  if (!values.length && !res.type.startsWith("text/event-stream")) problems.push(`HTTP ${res.status} without a body`);
  return { status: res.status, values, problems };
}

/** Over graphql-ws: every next payload and error, and how the socket closed. */
async function sendWs(base: string, req: GqlRequest, signal?: AbortSignal): Promise<Answer> {
  const values: unknown[] = [];
  const problems: string[] = [];
  const connectionParams = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, v]));
  const client = createClient({ url: base.replace(/^http/, "ws") + "/graphql", webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
  const iterator = client.iterate({ query: req.document, variables: req.variables, operationName: "Fuzz" });
  signal?.addEventListener("abort", () => void iterator.return?.(undefined));
  try {
    for await (const result of iterator) values.push(result);
    if (signal?.aborted) problems.push(`no answer within ${HUNG_MS / 1000} s`);
  } catch (err) {
    if (Array.isArray(err)) values.push({ errors: err });
    else if (err && typeof err === "object" && "code" in err) {
      const code = (err as { code: number }).code;
      // 4400-4499 and 1009 (too big) are the client's errors; 4500 and 1011 are the server's.
      if (code === 4500 || code === 1011) problems.push(`graphql-ws closed with ${code} ${(err as { reason?: string }).reason ?? ""}`);
      values.push({ closed: code });
    } else problems.push(`graphql-ws: ${String(err)}`);
  } finally {
    await client.dispose();
  }
  return { status: 200, values, problems };
}
