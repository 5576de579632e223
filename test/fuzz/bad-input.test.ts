// Bad input is a 4xx, always: requests generated from the REST route table and the GraphQL schema,
// with NUL, lone surrogates, bad percent-encoding, over-long strings, deep JSON and wrong types in
// every field, get Dify's error envelope (REST) or a typed error / client error (GraphQL), never a
// 5xx, a masked internal error, or an error logged by the server.
//
// CI runs a seeded, bounded version (400 requests per surface and backend). The long one: FUZZ_RUNS=5000;
// FUZZ_SEED / FUZZ_PATH replay a counterexample fast-check printed; FUZZ_SURVEY=1 keeps going past
// failures and prints every kind of problem found, with a count and an example of each.
import fs from "node:fs";
import fc from "fast-check";
import { buildClientSchema, getIntrospectionQuery, type GraphQLSchema } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRestRouter } from "../../src/rest/index.js";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { capturingLogger, LEVEL, type LogLine } from "../support/log.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { sseEvents } from "../support/sse.js";
import { graphqlRequestArb } from "./graphql-requests.js";
import type { FuzzApp, Pools } from "./pools.js";
import { REST_FIELDS, restRequestArb } from "./rest-requests.js";
import { answered, isInternal, judge, sendGraphql, sendRest, type Answer } from "./send.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const PATH = process.env.FUZZ_PATH || undefined;
const SURVEY = process.env.FUZZ_SURVEY === "1";
/** A file to append progress to while a long run goes on (vitest prints the console only at the end). */
const PROGRESS = process.env.FUZZ_PROGRESS;
// A bound on a whole run of the property, generous: each request takes milliseconds.
const TIMEOUT = 120_000 + RUNS * 2_000;

const APPS = [
  "apps/chat-travel-planner.yml",
  "apps/completion-slogan-writer.yml",
  "dsl-corpus/agent-chat-investment-report-copilot.yml",
  "workflows/chatflow-prefixed-answers.yml",
  "workflows/workflow-support-triage.yml",
  "workflows/workflow-approval-form.yml",
];

/** Valid inputs for a Dify user_input_form: every variable (optional ones too: more to get wrong) with a value of its type. */
function validInputs(form: Record<string, Record<string, any>>[]): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const entry of form) {
    const [type, spec] = Object.entries(entry)[0];
    if (type === "file" || type === "file-list") continue;
    inputs[spec.variable] = type === "select" ? spec.options[0] : type === "number" ? 1 : type === "checkbox" ? true : "fuzz";
  }
  return inputs;
}

/** Strings under these keys anywhere in `value`, into the pools. */
function collectIds(value: unknown, pools: Pools) {
  if (!value || typeof value !== "object") return;
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === "string") {
      if (k === "conversation_id" && v) pools.conversationIds.push(v);
      if (k === "message_id" || (k === "id" && (value as any).event === "message")) pools.messageIds.push(v);
      if (k === "task_id") pools.taskIds.push(v);
      if (k === "workflow_run_id") pools.runIds.push(v);
      if (k === "form_token") pools.formTokens.push(v);
    } else collectIds(v, pools);
  }
}

describe.each(backends)("bad input on every route and field, on %s", (backend) => {
  let fake: FakeOpenAI;
  let s: TestServer;
  let lines: LogLine[];
  let schema: GraphQLSchema;
  const pools: Pools = { apps: [], conversationIds: [], messageIds: [], taskIds: [], runIds: [], formTokens: [] };

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    const capture = capturingLogger("warn");
    lines = capture.lines;
    // A higher cost limit lets random selections reach the resolvers (the limits have tests of their own).
    s = await startTestServer(backend, { OPENAI_BASE_URL: fake.baseUrl, GRAPHQL_MAX_COST: "1000000" }, capture.log);
    for (const file of APPS) {
      const { id, code, mode } = await s.importApp(file);
      const passport = await s.passport(code);
      const params = await (await s.api("/parameters", { passport })).json();
      const app: FuzzApp = { mode, code, appId: id, passport, inputs: validInputs(params.user_input_form) };
      pools.apps.push(app);
      // Something of each kind to point ids at: a conversation and messages, a task, runs, a form.
      const post = (path: string, body: unknown) =>
        s.api(path, { method: "POST", passport, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const res =
        mode === "workflow"
          ? await post("/workflows/run", { inputs: app.inputs })
          : await post(mode === "completion" ? "/completion-messages" : "/chat-messages", { query: "Hello", inputs: app.inputs, response_mode: "streaming" });
      expect(res.status).toBe(200);
      // A paused run's followers wait for it to resume: of the approval run, only its form is used.
      const paused = file.includes("approval");
      for await (const event of sseEvents(res)) {
        if (!paused) collectIds(event, pools);
        else if (event.event === "human_input_required") pools.formTokens.push(event.data.form_token);
      }
      if (mode === "completion") await post("/saved-messages", { message_id: pools.messageIds.at(-1) });
    }
    for (const key of ["conversationIds", "messageIds", "taskIds", "runIds", "formTokens"] as const) pools[key] = [...new Set(pools[key])];
    expect(pools.conversationIds.length).toBeGreaterThanOrEqual(3);
    expect(pools.formTokens.length).toBe(1);
    const introspection = await s.graphql(getIntrospectionQuery());
    schema = buildClientSchema(introspection.data);
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });

  /** Run the property; in survey mode, count every kind of problem instead of stopping at the first. */
  async function fuzz<R>(surface: "rest" | "graphql", arb: fc.Arbitrary<R>, send: (req: R, signal: AbortSignal) => Promise<Answer>, describeReq: (req: R) => string) {
    const statuses = new Map<number, number>();
    const found = new Map<string, { count: number; example: string }>();
    let requests = 0;
    let internal = 0;
    let previous: R | undefined;
    const property = fc.asyncProperty(arb, async (req) => {
      const before = lines.length;
      const started = performance.now();
      const answer = await answered((signal) => send(req, signal));
      if (answer.status === 0) answer.problems.push(`the request before: ${fc.stringify(previous).slice(0, 400)}`);
      previous = req;
      requests++;
      if (PROGRESS) {
        const ms = performance.now() - started;
        if (ms > 2_000 || requests % 100 === 0) {
          const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
          fs.appendFileSync(PROGRESS, `${surface} ${backend} #${requests} ${Math.round(ms)} ms ${rss} MiB ${answer.status} ${describeReq(req)}\n`);
        }
      }
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      const problems = judge(answer, surface, lines.slice(before).filter((l) => l.level >= LEVEL.error));
      if (!problems.length) return;
      if (!SURVEY) throw new Error(problems.join("\n"));
      if (problems.some(isInternal)) internal++;
      const kind = `${describeReq(req)} → ${problems[0].replace(/[0-9a-f-]{36}|\d+/g, "#").slice(0, 160)}`;
      const entry = found.get(kind) ?? { count: 0, example: `${fc.stringify(req)}\n    ${problems.join("\n    ")}` };
      entry.count++;
      found.set(kind, entry);
    });
    const report = () => {
      const total = [...found.values()].reduce((n, e) => n + e.count, 0);
      console.log(
        `fuzz ${surface} on ${backend}: ${requests} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, ${total} with problems (${internal} of them 5xx or internal errors)` +
          [...found].map(([kind, e]) => `\n  ${e.count}× ${kind}\n    ${e.example}`).join(""),
      );
      return total;
    };
    try {
      await fc.assert(property, { numRuns: RUNS, seed: SEED, path: PATH });
    } finally {
      expect(report()).toBe(0);
    }
  }

  it("knows what every REST route reads", () => {
    const routes = createRestRouter().list().map((r) => `${r.method} ${r.path}`);
    expect(routes.sort()).toEqual(Object.keys(REST_FIELDS).sort());
  });

  it("answers bad input on every REST route with a 4xx in Dify's envelope, never a 5xx", async () => {
    await fuzz("rest", restRequestArb(createRestRouter().list(), pools), (req, signal) => sendRest(s.url, req, signal), (req) => req.route);
  }, TIMEOUT);

  it("answers bad input on every GraphQL field with a typed or client error, never an internal one", async () => {
    await fuzz("graphql", graphqlRequestArb(schema, pools), (req, signal) => sendGraphql(s.url, req, signal), (req) => `${req.transport} ${req.field}`);
  }, TIMEOUT);
});
