// Human input: a run pauses at the form, the form page reads and submits it by token, and the run
// resumes for whoever follows /workflow/{run_id}/events.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSse } from "../support/sse.js";
import { startTestServer, taskBackends, type TestServer } from "../support/server.js";

describe.each(taskBackends)("human input on %s", (_name, backend, taskEnv) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(backend, taskEnv);
  });
  afterAll(() => s?.close());

  const json = (body: object) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  async function pauseRun(request = "a new laptop") {
    const app = await s.importApp("workflows/workflow-approval-form.yml");
    const passport = await s.passport(app.code);
    const { events } = await readSse(await s.api("/workflows/run", { passport, ...json({ inputs: { request } }) }));
    return { events, passport, runId: events[0].workflow_run_id as string };
  }

  it("pauses with human_input_required and workflow_paused, then closes the stream", async () => {
    const { events, runId } = await pauseRun();
    expect(events.map((e) => e.event)).toEqual(["workflow_started", "node_started", "node_finished", "node_started", "human_input_required", "workflow_paused"]);
    const required = events[4].data;
    expect(required).toMatchObject({
      node_id: "approve",
      node_title: "Approve?",
      form_content: "Approve **a new laptop**?\n\nReason: {{#$output.reason#}}",
      actions: [
        { id: "yes", title: "Approve", button_style: "primary" },
        { id: "no", title: "Reject", button_style: "default" },
      ],
      resolved_default_values: { reason: "a new laptop", note: "" },
      display_in_ui: true,
    });
    expect(required.form_token).toMatch(/^[A-Za-z0-9]{22}$/);
    expect(events[5].data).toMatchObject({ status: "paused", paused_nodes: ["approve"], workflow_run_id: runId });
    expect(events[5].data.reasons[0]).toMatchObject({ TYPE: "human_input_required", form_token: required.form_token });
    const run = await s.rt.db.workflowRun.findUniqueOrThrow({ where: { id: runId } });
    expect(run.status).toBe("paused");
  });

  it("serves the form by token, with empty constant defaults instead of null, and the site", async () => {
    const { events } = await pauseRun();
    const token = events[4].data.form_token;
    const res = await s.api(`/form/human_input/${token}`);
    expect(res.status).toBe(200);
    const form = await res.json();
    expect(form.inputs).toEqual([
      { type: "paragraph", output_variable_name: "reason", default: { type: "variable", selector: ["start", "request"], value: "" } },
      { type: "text_input", output_variable_name: "note", default: { type: "constant", selector: [], value: "" } },
    ]);
    expect(form.user_actions).toHaveLength(2);
    expect(form.expiration_time).toBeGreaterThan(Date.now() / 1000 + 23 * 3600);
    expect(form.site).toMatchObject({ end_user_id: null, site: { title: "Approval" } });
  });

  it("resumes on submit: a reader waiting on /workflow/{id}/events sees the run finish", async () => {
    const { events, passport, runId } = await pauseRun("a desk");
    const token = events[4].data.form_token;
    // The route opens the run's live log before its headers, so once the response has started this
    // reader sees the resumption from its first event, however soon the form is submitted.
    const waiting = readSse(await s.api(`/workflow/${runId}/events`, { passport }));
    const submit = await s.api(`/form/human_input/${token}`, json({ inputs: { reason: "needed", note: "ok" }, action: "yes" }));
    expect(submit.status).toBe(200);
    expect(await submit.json()).toEqual({});
    const resumed = (await waiting).events;
    expect(resumed[0]).toMatchObject({ event: "workflow_started", data: { reason: "resumption" } });
    expect(resumed[1]).toMatchObject({ event: "human_input_form_filled", data: { node_id: "approve", action_id: "yes", action_text: "Approve", rendered_content: "Approve **a desk**?\n\nReason: needed" } });
    expect(resumed.at(-1)).toMatchObject({ event: "workflow_finished", data: { status: "succeeded", outputs: { decision: "yes", reason: "needed" } } });
    const run = await s.rt.db.workflowRun.findUniqueOrThrow({ where: { id: runId }, include: { nodeExecutions: true } });
    expect(run.status).toBe("succeeded");
    expect(run.nodeExecutions.map((n) => n.nodeId).sort()).toEqual(["approve", "approved", "start"]);
    const again = await s.api(`/form/human_input/${token}`, json({ inputs: { reason: "x", note: "y" }, action: "no" }));
    expect(again.status).toBe(412);
    expect((await again.json()).code).toBe("human_input_form_submitted");
    expect((await s.api(`/form/human_input/${token}`)).status).toBe(412);
  });

  it("refuses unknown tokens, bad actions and missing inputs as Dify does", async () => {
    const { events } = await pauseRun();
    const token = events[4].data.form_token;
    const unknown = await s.api("/form/human_input/AAAAAAAAAAAAAAAAAAAAAA");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: "not_found", message: "Form not found" });
    const badAction = await s.api(`/form/human_input/${token}`, json({ inputs: { reason: "r", note: "n" }, action: "maybe" }));
    expect(await badAction.json()).toMatchObject({ code: "invalid_form_data", status: 400, message: "Invalid action: maybe" });
    const missing = await s.api(`/form/human_input/${token}`, json({ inputs: { reason: "r" }, action: "yes" }));
    expect(await missing.json()).toMatchObject({ code: "invalid_form_data", message: "Missing required inputs: note" });
  });

  it("takes the timeout branch once the node's timeout has passed", async () => {
    const { events, passport, runId } = await pauseRun();
    const token = events[4].data.form_token;
    await s.rt.db.humanInputForm.updateMany({ where: { workflowRunId: runId }, data: { expirationTime: new Date(Date.now() - 1000) } });
    const expired = await s.api(`/form/human_input/${token}`);
    expect(expired.status).toBe(412);
    expect((await expired.json()).code).toBe("human_input_form_expired");
    const waiting = readSse(await s.api(`/workflow/${runId}/events`, { passport }));
    expect(await s.rt.core.resumeTimedOutForms()).toBeGreaterThanOrEqual(1);
    const resumed = (await waiting).events;
    expect(resumed.map((e) => e.event)).toContain("human_input_form_timeout");
    expect(resumed.at(-1)).toMatchObject({ event: "workflow_finished", data: { outputs: { decision: "__timeout" } } });
  });
});

describe("a chatflow that waits for a person", () => {
  it("resumes into an LLM that remembers the conversation's earlier turns", async () => {
    const { startFakeOpenAI } = await import("../support/fake-openai.js");
    const fake = await startFakeOpenAI({ reply: (body) => `answer to ${body.messages.at(-1).content}` });
    const s = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl });
    try {
      const app = await s.importApp("workflows/chatflow-confirm-then-answer.yml");
      const passport = await s.passport(app.code);
      const turn = async (query: string, conversationId?: string) => {
        const res = await s.api("/chat-messages", {
          method: "POST",
          passport,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query, inputs: {}, conversation_id: conversationId ?? "", response_mode: "streaming" }),
        });
        const paused = (await readSse(res)).events;
        expect(paused.at(-1).event).toBe("workflow_paused");
        const message = await s.rt.db.message.findUniqueOrThrow({ where: { id: paused[0].message_id } });
        expect(message.status).toBe("paused");
        const runId = paused[0].data.id;
        const waiting = readSse(await s.api(`/workflow/${runId}/events`, { passport })); // following once the response starts
        const token = paused.find((e: any) => e.event === "human_input_required").data.form_token;
        await s.api(`/form/human_input/${token}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ inputs: {}, action: "go" }) });
        const resumed = (await waiting).events;
        expect(resumed.map((e: any) => e.event).slice(-2)).toEqual(["message_end", "workflow_finished"]);
        return { conversationId: paused[0].conversation_id as string, messageId: paused[0].message_id as string };
      };
      const first = await turn("first question");
      expect((await s.rt.db.message.findUniqueOrThrow({ where: { id: first.messageId } })).answer).toBe("answer to first question");
      await turn("second question", first.conversationId);
      expect(fake.requests.at(-1)!.body.messages).toEqual([
        { role: "system", content: "You are brief." },
        { role: "user", content: "first question" },
        { role: "assistant", content: "answer to first question" },
        { role: "user", content: "second question" },
      ]);
    } finally {
      await s.close();
      await fake.close();
    }
  });
});
