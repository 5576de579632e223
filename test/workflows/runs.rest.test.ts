// Workflow and chatflow runs over REST, on real corpus exports and the loopback model.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { answerOf, readSse, sseEvents } from "../support/sse.js";
import { startTestServer, taskBackends, type TestServer } from "../support/server.js";

describe.each(taskBackends)("workflow runs over REST on %s", (_name, backend, taskEnv) => {
  let fake: FakeOpenAI;
  let s: TestServer;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    s = await startTestServer(backend, { OPENAI_BASE_URL: fake.baseUrl, ...taskEnv });
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.setTokenDelay(0);
    fake.setReply((body) => `Echo: ${body.messages.at(-1).content}`);
  });

  const run = async (file: string, body: object) => {
    const app = await s.importApp(file);
    const token = await s.passport(app.code);
    const res = await s.api("/workflows/run", { method: "POST", passport: token, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { res, token, app };
  };

  it("runs parallel if-else branches into a variable aggregator (dual switch)", async () => {
    for (const [switch1, switch2, expected] of [
      ["1", "1", { group1: "switch 1 on", group2: "switch 2 on" }],
      ["0", "1", { group1: "switch 1 off", group2: "switch 2 on" }],
      ["0", "0", { group1: "switch 1 off", group2: "switch 2 off" }],
    ] as const) {
      const { res } = await run("dsl-corpus/workflow-dual-switch-variable-aggregator.yml", { inputs: { switch1, switch2 }, response_mode: "streaming" });
      expect(res.status).toBe(200);
      const { events } = await readSse(res);
      const kinds = events.map((e) => e.event);
      expect(kinds[0]).toBe("workflow_started");
      expect(kinds.at(-1)).toBe("workflow_finished");
      const finished = events.at(-1);
      expect(finished.data.status).toBe("succeeded");
      expect(finished.data.outputs).toEqual(expected);
      const started = events.filter((e) => e.event === "node_started").map((e) => e.data.node_type);
      expect(started.filter((t) => t === "template-transform")).toHaveLength(2); // one branch of each switch
      for (const e of events) expect(e.workflow_run_id).toBe(events[0].workflow_run_id);
    }
  });

  it("streams an LLM's text to the end node as text_chunk events, and records the run", async () => {
    fake.setReply(() => "A fine answer from the model");
    const { res, app } = await run("dsl-corpus/workflow-basic-llm-openai.yml", { inputs: { query: "hello" } });
    const { events } = await readSse(res);
    const chunks = events.filter((e) => e.event === "text_chunk");
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.map((c) => c.data.text).join("")).toBe("A fine answer from the model");
    const finished = events.at(-1);
    expect(finished.event).toBe("workflow_finished");
    expect(finished.data).toMatchObject({ status: "succeeded", total_steps: 3, error: null });
    expect(Object.values(finished.data.outputs)).toContain("A fine answer from the model");
    const runRow = await s.rt.db.workflowRun.findUniqueOrThrow({ where: { id: finished.workflow_run_id }, include: { nodeExecutions: true } });
    expect(runRow).toMatchObject({ appId: app.id, status: "succeeded", totalSteps: 3 });
    expect(runRow.nodeExecutions.map((n) => n.nodeType).sort()).toEqual(["end", "llm", "start"]);
    expect(runRow.totalTokens).toBeGreaterThan(0);
  });

  it("answers chatflow turns with message events, then message_end, then workflow_finished", async () => {
    const app = await s.importApp("dsl-corpus/advanced-chat-complex-branch-llm.yml");
    const token = await s.passport(app.code);
    const res = await s.api("/chat-messages", {
      method: "POST",
      passport: token,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "hello world", inputs: {}, response_mode: "streaming" }),
    });
    const { events } = await readSse(res);
    const kinds = events.map((e) => e.event);
    expect(kinds[0]).toBe("workflow_started");
    expect(kinds.slice(-2)).toEqual(["message_end", "workflow_finished"]);
    const answer = answerOf(events);
    expect(answer.length).toBeGreaterThan(0);
    const messageId = events[0].message_id;
    for (const e of events) expect(e).toMatchObject({ conversation_id: events[0].conversation_id, message_id: messageId });
    const saved = await s.rt.db.message.findUniqueOrThrow({ where: { id: messageId } });
    expect(saved.answer).toBe(answer);
    expect(saved.workflowRunId).toBe(events.at(-1).workflow_run_id);
  });

  it("validates inputs before the stream starts, and refuses other modes", async () => {
    const { res } = await run("dsl-corpus/workflow-dual-switch-variable-aggregator.yml", { inputs: { switch1: "x" } });
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe("invalid_param");
    const chat = await s.importApp("apps/chat-travel-planner.yml");
    const t = await s.passport(chat.code);
    const wrong = await s.api("/workflows/run", { method: "POST", passport: t, headers: { "content-type": "application/json" }, body: JSON.stringify({ inputs: {} }) });
    expect((await wrong.json()).code).toBe("not_workflow_app");
  });

  it("stops a run for its owner: workflow_finished with status stopped", async () => {
    fake.setReply(() => Array.from({ length: 40 }, (_, i) => `z${i}`).join(" "));
    fake.setTokenDelay(25);
    const { res, token } = await run("dsl-corpus/workflow-basic-llm-openai.yml", { inputs: { query: "long" } });
    const events: any[] = [];
    for await (const e of sseEvents(res)) {
      events.push(e);
      if (e.event === "text_chunk" && events.filter((x) => x.event === "text_chunk").length === 2) {
        const stop = await s.api(`/workflows/tasks/${e.task_id}/stop`, { method: "POST", passport: token, headers: { "content-type": "application/json" }, body: "{}" });
        expect(await stop.json()).toEqual({ result: "success" });
      }
    }
    const finished = events.at(-1);
    expect(finished.event).toBe("workflow_finished");
    expect(finished.data).toMatchObject({ status: "stopped", error: "Stopped by user." });
  });

  it("stops a chatflow turn through the chat stop route", async () => {
    fake.setReply(() => Array.from({ length: 40 }, (_, i) => `c${i}`).join(" "));
    fake.setTokenDelay(25);
    const app = await s.importApp("dsl-corpus/advanced-chat-complex-branch-llm.yml");
    const token = await s.passport(app.code);
    const res = await s.api("/chat-messages", {
      method: "POST",
      passport: token,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "please stop me", inputs: {}, response_mode: "streaming" }),
    });
    const events: any[] = [];
    for await (const e of sseEvents(res)) {
      events.push(e);
      if (e.event === "message" && events.filter((x) => x.event === "message").length === 2) {
        const stop = await s.api(`/chat-messages/${e.task_id}/stop`, { method: "POST", passport: token, headers: { "content-type": "application/json" }, body: "{}" });
        expect(await stop.json()).toEqual({ result: "success" });
      }
    }
    expect(events.at(-1)).toMatchObject({ event: "workflow_finished", data: { status: "stopped" } });
    const saved = await s.rt.db.message.findUniqueOrThrow({ where: { id: events[0].message_id } });
    expect(saved.answer).toBe(answerOf(events));
  });

  describe("GET /workflow/{run_id}/events", () => {
    it("follows a running run from a cursor, and answers a finished one with workflow_finished", async () => {
      fake.setReply(() => Array.from({ length: 12 }, (_, i) => `y${i}`).join(" "));
      fake.setTokenDelay(20);
      const { res, token } = await run("dsl-corpus/workflow-basic-llm-openai.yml", { inputs: { query: "follow" } });
      const first: any[] = [];
      for await (const e of sseEvents(res)) {
        first.push(e);
        if (first.length === 4) break;
      }
      const runId = first[0].workflow_run_id;
      const rest = await readSse(await s.api(`/workflow/${runId}/events?cursor=4`, { passport: token }));
      expect(rest.ids[0]).toBe(5);
      expect(rest.events.at(-1)).toMatchObject({ event: "workflow_finished", data: { status: "succeeded" } });
      const chunks = [...first, ...rest.events].filter((e) => e.event === "text_chunk").map((e) => e.data.text).join("");
      expect(chunks).toBe(Array.from({ length: 12 }, (_, i) => `y${i}`).join(" "));
      // Finished now (the row is saved before workflow_finished is sent): one event, then the stream closes.
      const done = await readSse(await s.api(`/workflow/${runId}/events`, { passport: token }));
      expect(done.events).toEqual([expect.objectContaining({ event: "workflow_finished", workflow_run_id: runId, data: expect.objectContaining({ id: runId, status: "succeeded" }) })]);
    });

    it("replays the executed nodes first with include_state_snapshot, for the owner only", async () => {
      const { res, token } = await run("dsl-corpus/workflow-dual-switch-variable-aggregator.yml", { inputs: { switch1: "1", switch2: "0" } });
      const { events } = await readSse(res);
      const runId = events[0].workflow_run_id;
      const row = await s.rt.db.workflowRun.findUniqueOrThrow({ where: { id: runId } });
      // Force the database path: a run whose live log is gone.
      await s.rt.db.workflowRun.update({ where: { id: runId }, data: { taskId: null } });
      const snap = await readSse(await s.api(`/workflow/${runId}/events?include_state_snapshot=true`, { passport: token }));
      const kinds = snap.events.map((e) => e.event);
      expect(kinds.at(-1)).toBe("workflow_finished");
      expect(kinds.filter((k) => k === "node_finished")).toHaveLength(row.totalSteps);
      expect(snap.events.at(-1).data.outputs).toEqual({ group1: "switch 1 on", group2: "switch 2 off" });
      const plain = await readSse(await s.api(`/workflow/${runId}/events`, { passport: token }));
      expect(plain.events.map((e) => e.event)).toEqual(["workflow_finished"]);
      const stranger = await s.api(`/workflow/${runId}/events`, { passport: await s.passport((await s.rt.db.site.findFirstOrThrow({ where: { appId: row.appId } })).code) });
      expect(stranger.status).toBe(404);
      expect((await stranger.json()).message).toBe(`WorkflowRun not created by the current end user, id=${runId}`);
      expect((await s.api(`/workflow/not-a-run/events`, { passport: token })).status).toBe(404);
    });
  });
});
