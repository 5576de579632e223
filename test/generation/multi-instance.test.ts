// Two instances on one PostgreSQL database and one Redis: a stop or a resume reaches the task
// wherever it runs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { gqlSse } from "../support/graphql.js";
import { answerOf, readSse, sseEvents } from "../support/sse.js";
import { createTestDatabase, startTestServer, type TestServer } from "../support/server.js";

const shared = Boolean(process.env.REDIS_URL && process.env.DATABASE_URL);

// Needs the services only CI and these machines have; `.ci/run` sets both variables, so it always runs there.
describe.skipIf(!shared)("two instances, one Redis (needs REDIS_URL and DATABASE_URL)", () => {
  let fake: FakeOpenAI;
  let a: TestServer;
  let b: TestServer;
  let drop: () => Promise<void>;
  let code: string;
  const inputs = { traveller: "Ana", destination: "Lisbon" };
  const words = Array.from({ length: 30 }, (_, i) => `r${i}`).join(" ");

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => words, tokenDelayMs: 25 });
    const db = await createTestDatabase();
    drop = db.drop;
    const env = { OPENAI_BASE_URL: fake.baseUrl, DATABASE_URL: db.url, REDIS_URL: process.env.REDIS_URL! };
    a = await startTestServer("postgres", env);
    b = await startTestServer("postgres", env);
    code = (await a.importApp("apps/chat-travel-planner.yml")).code;
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await drop?.();
    await fake?.close();
  });

  const start = (server: TestServer, passport: string) =>
    server.api("/chat-messages", {
      method: "POST",
      passport,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `q ${Math.random()}`, inputs, response_mode: "streaming" }),
    });

  it("a stop sent to B stops the stream running on A", async () => {
    const token = await a.passport(code);
    const stranger = await b.passport(code);
    const events: any[] = [];
    const stop = (taskId: string, passport: string) =>
      b.api(`/chat-messages/${taskId}/stop`, { method: "POST", passport, headers: { "content-type": "application/json" }, body: "{}" });
    let ownerStopped = false;
    for await (const e of sseEvents(await start(a, token))) {
      events.push(e);
      // The stranger's stop does nothing: the stream goes on for three more tokens, and the owner's then ends it.
      if (events.length === 3) expect(await (await stop(e.task_id, stranger)).json()).toEqual({ result: "success" });
      if (events.length === 6) {
        expect(fake.requests.at(-1)!.aborted).toBe(false);
        expect(await (await stop(e.task_id, token)).json()).toEqual({ result: "success" });
        ownerStopped = true;
      }
    }
    expect(ownerStopped).toBe(true);
    expect(events.at(-1).event).toBe("message_end");
    expect(answerOf(events).split(" ").length).toBeLessThan(30);
    await fake.requests.at(-1)!.ended;
    expect(fake.requests.at(-1)!.aborted).toBe(true);
    const saved = await b.rt.db.message.findUniqueOrThrow({ where: { id: events[0].message_id } });
    expect(saved.answer).toBe(answerOf(events));
  });

  it("a resume on B replays A's task and follows it live", async () => {
    const token = await a.passport(code);
    const seen: any[] = [];
    for await (const e of sseEvents(await start(a, token))) {
      seen.push(e);
      if (seen.length === 2) break;
    }
    const rest = await readSse(await b.api(`/chat-messages/${seen[0].task_id}/events?cursor=2`, { passport: token }));
    expect(rest.ids[0]).toBe(3);
    expect(rest.ids).toEqual(rest.ids.map((_, i) => i + 3));
    expect(rest.events.at(-1).event).toBe("message_end");
    expect(answerOf([...seen, ...rest.events])).toBe(words);
    const stranger = await b.passport(code);
    expect((await b.api(`/chat-messages/${seen[0].task_id}/events`, { passport: stranger })).status).toBe(404);
  });

  it("a run paused on A resumes when its form is submitted on B, for readers on both", async () => {
    const app = await a.importApp("workflows/workflow-approval-form.yml");
    const token = await a.passport(app.code);
    const json = (body: object) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const paused = await readSse(await a.api("/workflows/run", { passport: token, ...json({ inputs: { request: "two monitors" } }) }));
    const runId = paused.events[0].workflow_run_id;
    const formToken = paused.events.find((e) => e.event === "human_input_required").data.form_token;
    // Once a response has started, its instance follows the run's live log from the start (the
    // route opens it before the headers), so the submit below cannot overtake either reader.
    const onA = readSse(await a.api(`/workflow/${runId}/events`, { passport: token }));
    const onB = readSse(await b.api(`/workflow/${runId}/events`, { passport: token }));
    const submit = await b.api(`/form/human_input/${formToken}`, json({ inputs: { reason: "ergonomics", note: "" }, action: "yes" }));
    expect(submit.status).toBe(200);
    for (const reader of [onA, onB]) {
      const { events } = await reader;
      expect(events[0]).toMatchObject({ event: "workflow_started", data: { reason: "resumption" } });
      expect(events.at(-1)).toMatchObject({ event: "workflow_finished", data: { status: "succeeded", outputs: { decision: "yes", reason: "ergonomics" } } });
    }
  });

  it("GraphQL runEvents on B follows a run paused on A through its resumption", async () => {
    const app = await a.importApp("workflows/workflow-approval-form.yml");
    const token = await a.passport(app.code);
    const paused = await readSse(
      await a.api("/workflows/run", { method: "POST", passport: token, headers: { "content-type": "application/json" }, body: JSON.stringify({ inputs: { request: "a lamp" } }) }),
    );
    const runId = paused.events[0].workflow_run_id;
    const formToken = paused.events.find((e) => e.event === "human_input_required").data.form_token;
    const { taskId } = await b.rt.db.workflowRun.findUniqueOrThrow({ where: { id: runId } });
    const followed = b.readerOpened(taskId!);
    const following = gqlSse(
      b,
      `subscription($id: ID!) { runEvents(runId: $id) { __typename ... on WorkflowStarted { reason } ... on WorkflowFinished { status outputs } } }`,
      { id: runId },
      { token },
    );
    await followed;
    const submit = await a.graphql(
      `mutation($t: String!) { submitHumanInput(token: $t, action: "no", inputs: { reason: "r", note: "n" }) { __typename } }`,
      { t: formToken },
    );
    expect(submit.data.submitHumanInput.__typename).toBe("SubmitHumanInputPayload");
    const events = await following;
    expect(events[0]).toEqual({ __typename: "WorkflowStarted", reason: "resumption" });
    expect(events.at(-1)).toEqual({ __typename: "WorkflowFinished", status: "succeeded", outputs: { decision: "no" } });
  });
});
