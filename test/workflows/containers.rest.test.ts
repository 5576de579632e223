// Loops, iterations, assigners and conversation variables, on corpus exports.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerOf, readSse } from "../support/sse.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";

describe.each(backends)("containers and variables on %s", (backend) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(backend);
  });
  afterAll(() => s?.close());

  const post = (path: string, passport: string, body: object) =>
    s.api(path, { method: "POST", passport, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  it("loops until the break condition holds, with loop events", async () => {
    const app = await s.importApp("dsl-corpus/workflow-loop-increment-with-break.yml");
    const { events } = await readSse(await post("/workflows/run", await s.passport(app.code), { inputs: {} }));
    const kinds = events.map((e) => e.event);
    expect(kinds.filter((k) => k === "loop_started")).toHaveLength(1);
    expect(kinds.filter((k) => k === "loop_next")).toHaveLength(4); // num 1 → 5, one round each
    const completed = events.find((e) => e.event === "loop_completed");
    expect(completed.data).toMatchObject({ outputs: { num: 5 }, steps: 4, status: "succeeded" });
    expect(events.find((e) => e.event === "loop_next").data.pre_loop_output).toEqual({});
    expect(events.at(-1).data).toMatchObject({ status: "succeeded", outputs: { num: 5 } });
    const inner = events.filter((e) => e.event === "node_finished" && e.data.node_type === "assigner");
    expect(inner).toHaveLength(4);
    expect(inner.every((e) => e.data.loop_id === completed.data.node_id)).toBe(true);
  });

  it("streams answers from inside a loop and after it, in order", async () => {
    const app = await s.importApp("dsl-corpus/advanced-chat-loop-with-answer.yml");
    const { events } = await readSse(await post("/chat-messages", await s.passport(app.code), { query: "count", inputs: {}, response_mode: "streaming" }));
    expect(answerOf(events)).toBe("1\n2\ncount + 2");
    const saved = await s.rt.db.message.findUniqueOrThrow({ where: { id: events[0].message_id } });
    expect(saved.answer).toBe("1\n2\ncount + 2");
  });

  it("keeps conversation variables from turn to turn, per conversation", async () => {
    const app = await s.importApp("dsl-corpus/advanced-chat-conversation-variable-overwrite.yml");
    const token = await s.passport(app.code);
    const first = await (await post("/chat-messages", token, { query: "alpha", inputs: {} })).json();
    expect(first.answer).toBe("Current Value Of `conv_var` is:alpha");
    const second = await (await post("/chat-messages", token, { query: "beta", inputs: {}, conversation_id: first.conversation_id })).json();
    expect(second.answer).toBe("Current Value Of `conv_var` is:beta");
    const stored = await s.rt.db.workflowConversationVariable.findMany({ where: { conversationId: first.conversation_id } });
    expect(stored.map((v) => (v.data as any).value)).toEqual(["beta"]);
    // A new conversation starts from the DSL's default again (then overwrites it).
    const other = await (await post("/chat-messages", token, { query: "gamma", inputs: {} })).json();
    expect(other.conversation_id).not.toBe(first.conversation_id);
    expect(other.answer).toBe("Current Value Of `conv_var` is:gamma");
  });
});
