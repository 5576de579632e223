// kill -9 of an instance in the middle of a chatflow run: a live instance (or, embedded, the next
// start) continues the run from its last finished node, and its readers see it continue and end.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { gqlSseEvents, type GqlEvent } from "../support/graphql.js";
import { sseEvents, waitFor } from "../support/sse.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { startChildServer, startInstancePair, type ChildServer, type InstancePair } from "../support/child-server.js";

const RESUME = `subscription($taskId: ID!) { taskEvents(taskId: $taskId) { __typename
  ... on MessageDelta { answer } ... on NodeStarted { nodeId } ... on WorkflowFinished { status } } }`;
const words = Array.from({ length: 200 }, (_, i) => `w${i}`).join(" ");
// chatflow-prefixed-answers: start → llm (streamed into "Answer: … (done)") → echo.
const expectedAnswer = `Answer: ${words} (done)\nYou asked: go`;

async function startChatflow(url: string, passport: string) {
  const res = await fetch(`${url}/api/chat-messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "X-App-Passport": passport },
    body: JSON.stringify({ query: "go", inputs: {}, response_mode: "streaming" }),
  });
  const events = sseEvents(res);
  // Read until the LLM node has started on this instance: the start node's checkpoint is written.
  let first: any;
  for (;;) {
    const { value } = await events.next();
    first ??= value;
    if (value.event === "node_started" && value.data.node_id === "llm") break;
  }
  void (async () => {
    try {
      for await (const _ of events);
    } catch {
      // the instance died under it
    }
  })();
  return first;
}

const shared = Boolean(process.env.REDIS_URL && process.env.DATABASE_URL);

describe.skipIf(!shared)("kill -9 mid-run, another instance on the same PostgreSQL and Redis (needs DATABASE_URL and REDIS_URL)", () => {
  let fake: FakeOpenAI;
  let pair: InstancePair;
  let a: ChildServer;
  let b: TestServer;
  let token: string;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => words, tokenDelayMs: 20 });
    pair = await startInstancePair({ OPENAI_BASE_URL: fake.baseUrl }, "workflows/chatflow-prefixed-answers.yml");
    ({ a, b, token } = pair);
  }, 120_000);
  afterAll(async () => {
    await pair?.close();
    await fake?.close();
  });

  it("continues the run from its last finished node; readers on the live instance see it through to the end", async () => {
    const first = await startChatflow(a.url, token);
    const taskId = first.task_id as string;
    const restFollow = (async () => {
      const all: any[] = [];
      for await (const e of sseEvents(await b.api(`/chat-messages/${taskId}/events`, { passport: token }))) all.push(e);
      return all;
    })();
    const gqlFollow = (async () => {
      const all: GqlEvent[] = [];
      for await (const e of gqlSseEvents(b, RESUME, { taskId }, { token })) all.push(e);
      return all;
    })();
    // A has recorded that the start node finished (and that the LLM node is running).
    await waitFor(async () => {
      const run = await b.rt.db.workflowRun.findUnique({ where: { id: first.workflow_run_id } });
      return (run?.checkpoint as any)?.paused?.includes("llm");
    }, 20_000);
    const requests = fake.requests.length;
    await a.kill9();

    const [rest, graphql] = await Promise.all([restFollow, gqlFollow]);
    // The LLM node, interrupted on A, ran again on B (at-least-once for the node that was running).
    expect(fake.requests.length).toBe(requests + 1);
    expect(rest.filter((e) => e.event === "node_started" && e.data.node_id === "llm").length).toBe(2);
    expect(rest.at(-1)).toMatchObject({ event: "workflow_finished", data: { status: "succeeded" } });
    expect(rest.some((e) => e.event === "message_end")).toBe(true);
    expect(graphql.at(-1)).toMatchObject({ __typename: "WorkflowFinished", status: "succeeded" });

    const run = await b.rt.db.workflowRun.findUniqueOrThrow({ where: { id: first.workflow_run_id }, include: { nodeExecutions: true } });
    expect(run.status).toBe("succeeded");
    expect(run.checkpoint).toBeNull();
    // The start node's execution was written by A with its checkpoint; the rest by B.
    expect(run.nodeExecutions.map((e) => e.nodeId).sort()).toEqual(["answer", "echo", "llm", "start"]);
    const message = await b.rt.db.message.findUniqueOrThrow({ where: { id: first.message_id } });
    expect({ answer: message.answer, status: message.status }).toEqual({ answer: expectedAnswer, status: "normal" });
  }, 60_000);
});

describe("kill -9 of the embedded server mid-run, then a restart on its data directory", () => {
  let fake: FakeOpenAI;
  let dataDir: string;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => words, tokenDelayMs: 20 });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-run-takeover-"));
  });
  afterAll(async () => {
    await fake?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("the next start continues the run and saves its answer", async () => {
    const env = { OPENAI_BASE_URL: fake.baseUrl, DATA_DIR: dataDir };
    const setup = await startTestServer("pglite", env);
    const token = await setup.passport((await setup.importApp("workflows/chatflow-prefixed-answers.yml")).code);
    await setup.close();

    const child = await startChildServer(env);
    const first = await startChatflow(child.url, token);
    await child.kill9();

    const restarted = await startTestServer("pglite", env);
    try {
      // Through the API, as its owner would see it.
      await waitFor(async () => {
        const res = await restarted.api(`/messages?conversation_id=${first.conversation_id}`, { passport: token });
        const body = (await res.json()) as any;
        return body.data[0]?.answer === expectedAnswer;
      }, 30_000);
      const run = await restarted.graphql(`query($id: ID!) { workflowRun(id: $id) { ... on WorkflowRun { status } } }`, { id: first.workflow_run_id }, { authorization: `Bearer ${token}` });
      expect(run.errors).toBeUndefined();
      expect(run.data.workflowRun).toEqual({ status: "succeeded" });
    } finally {
      await restarted.close();
    }
  }, 120_000);
});
