// Node types on DSL files written for these tests, against the loopback model.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { readSse } from "../support/sse.js";
import { startTestServer, type TestServer } from "../support/server.js";

describe("model-backed and list nodes", () => {
  let fake: FakeOpenAI;
  let s: TestServer;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    s = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl });
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });

  const run = async (file: string, inputs: object) => {
    const app = await s.importApp(file);
    const res = await s.api("/workflows/run", {
      method: "POST",
      passport: await s.passport(app.code),
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs }),
    });
    return readSse(res);
  };

  it("classifies, extracts, filters and aggregates along the chosen branch", async () => {
    fake.setReply((body) => {
      const system = body.messages[0].content as string;
      const user = body.messages.at(-1).content as string;
      if (system.includes("text classification engine")) {
        expect(system).toContain("Refund requests are billing.");
        return user.includes("refund") ? 'Sure. {"category_id": "c_billing", "category_name": "Billing"}' : '{"category_id":"c_bug"}';
      }
      if (system.includes('"amount"')) return '```json\n{"amount": "42.5", "currency": "eur"}\n```';
      if (system.includes('"steps"')) return '{"steps": ["open the app", "ignore this one", "tap save", "see the crash"]}';
      return "unexpected";
    });
    const billing = await run("workflows/workflow-support-triage.yml", { ticket: "Please refund my order" });
    expect(billing.events.at(-1).data).toMatchObject({ status: "succeeded", outputs: { summary: "Support: refund 42.5 EUR", category: "Billing" } });
    const ran = billing.events.filter((e) => e.event === "node_finished").map((e) => e.data.node_id);
    expect(ran).not.toContain("steps");

    const bug = await run("workflows/workflow-support-triage.yml", { ticket: "The app crashes" });
    expect(bug.events.at(-1).data.outputs).toEqual({ summary: "1. open the app\n2. tap save\n", category: "Bug report" });
    const runRow = await s.rt.db.workflowRun.findUniqueOrThrow({ where: { id: bug.events[0].workflow_run_id }, include: { nodeExecutions: true } });
    const classify = runRow.nodeExecutions.find((n) => n.nodeId === "classify")!;
    expect(classify.outputs).toMatchObject({ class_id: "c_bug", class_name: "Bug report" });
    const steps = runRow.nodeExecutions.find((n) => n.nodeId === "steps")!;
    expect(steps.outputs).toMatchObject({ __is_success: 1, steps: ["open the app", "ignore this one", "tap save", "see the crash"] });
  });

  it("retries, falls back to default values, and takes the fail branch", async () => {
    let retryCalls = 0;
    fake.setReply((body) => {
      const text = body.messages.at(-1).content as string;
      if (text.startsWith("retry")) return ++retryCalls === 1 ? { error: { status: 500, message: "flaky" } } : "second time lucky";
      return { error: { status: 500, message: `always failing: ${text}` } };
    });
    const { events } = await run("workflows/workflow-error-strategies.yml", { q: "x" });
    const finished = events.at(-1);
    expect(finished.data.status).toBe("partial-succeeded");
    expect(finished.data.exceptions_count).toBe(2);
    expect(finished.data.outputs).toEqual({ retried: "second time lucky", defaulted: "fallback text", branch: "failed: completion_request_error" });
    expect(events.filter((e) => e.event === "node_retry")).toHaveLength(1);
    const statuses = Object.fromEntries(events.filter((e) => e.event === "node_finished").map((e) => [e.data.node_id, e.data.status]));
    expect(statuses).toMatchObject({ retrying: "succeeded", defaulted: "exception", branching: "exception", on_fail: "succeeded" });
    expect(statuses).not.toHaveProperty("on_ok");
  });

  it("fails the run when a node without a strategy fails, and delivers the error event", async () => {
    fake.setReply(() => ({ error: { status: 500, message: "model down" } }));
    const { events } = await run("dsl-corpus/workflow-basic-llm-openai.yml", { query: "hi" });
    const [finished, error] = events.slice(-2);
    expect(finished).toMatchObject({ event: "workflow_finished", data: { status: "failed" } });
    expect(finished.data.error).toContain("model down");
    expect(error).toMatchObject({ event: "error", code: "invalid_param", status: 400 });
    expect(error.message).toMatch(/^Run failed: /);
  });

  it("fails at a node type appgraph does not run, naming it", async () => {
    const app = await s.importApp("dsl-corpus/advanced-chat-time-tool-static-output.yml");
    const res = await s.api("/chat-messages", {
      method: "POST",
      passport: await s.passport(app.code),
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "what time is it", inputs: {}, response_mode: "streaming" }),
    });
    const { events } = await readSse(res);
    const finished = events.find((e) => e.event === "workflow_finished");
    expect(finished.data.status).toBe("failed");
    expect(finished.data.error).toMatch(/tool nodes are not supported by appgraph yet/);
  });
});
