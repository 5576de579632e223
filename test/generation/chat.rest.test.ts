// POST /api/chat-messages and /api/completion-messages against a real OpenAI-wire model on loopback.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { answerOf, readSse, sseEvents, waitFor } from "../support/sse.js";
import { startTestServer, taskBackends, type TestServer } from "../support/server.js";

const claims = (token: string) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());

describe.each(taskBackends)("generation over REST on %s", (_name, backend, taskEnv) => {
  let fake: FakeOpenAI;
  let s: TestServer;
  let chat: { id: string; code: string };
  let completion: { id: string; code: string };
  let agent: { id: string; code: string };
  let token: string;
  const inputs = { traveller: "Ana", destination: "Kyoto", days: "4", notes: "", budget: "yes" };

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    s = await startTestServer(backend, { OPENAI_BASE_URL: fake.baseUrl, ...taskEnv });
    chat = await s.importApp("apps/chat-travel-planner.yml");
    completion = await s.importApp("apps/completion-slogan-writer.yml");
    agent = await s.importApp("dsl-corpus/agent-chat-investment-report-copilot.yml");
    token = await s.passport(chat.code);
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.setTokenDelay(0);
    fake.setReply((body) => `Echo: ${body.messages.at(-1).content}`);
  });

  const post = (path: string, body: object, passport = token) =>
    s.api(path, { method: "POST", passport, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  it("streams a chat answer as Dify's message events and saves it", async () => {
    const res = await post("/chat-messages", { query: "Plan my trip please", inputs, response_mode: "streaming", conversation_id: "" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("x-accel-buffering")).toBe("no");
    const { events, ids } = await readSse(res);
    const deltas = events.filter((e) => e.event === "message");
    expect(deltas.length).toBeGreaterThan(1);
    const end = events.at(-1);
    expect(end.event).toBe("message_end");
    expect(answerOf(events)).toBe("Echo: Plan my trip please");
    const first = deltas[0];
    expect(Object.keys(first).sort()).toEqual(["answer", "conversation_id", "created_at", "event", "from_variable_selector", "id", "message_id", "task_id"]);
    expect(first.id).toBe(first.message_id);
    for (const e of events) {
      expect(e).toMatchObject({ conversation_id: first.conversation_id, message_id: first.message_id, task_id: first.task_id, created_at: first.created_at });
    }
    expect(end).toEqual({
      event: "message_end",
      conversation_id: first.conversation_id,
      message_id: first.message_id,
      created_at: first.created_at,
      task_id: first.task_id,
      id: first.message_id,
      metadata: { retriever_resources: [] },
      files: null,
    });
    expect(ids).toEqual(events.map((_, i) => i + 1)); // one sequence number per event, no gaps

    // The model saw the rendered pre_prompt and the query.
    const sent = fake.requests.at(-1)!.body;
    expect(sent.model).toBe("gpt-4o-mini");
    expect(sent.temperature).toBe(0.3);
    expect(sent.messages).toEqual([
      { role: "system", content: "Plan a 4-day trip to Kyoto for Ana on a true budget. Notes: " },
      { role: "user", content: "Plan my trip please" },
    ]);

    const message = await s.rt.db.message.findUniqueOrThrow({ where: { id: first.message_id }, include: { conversation: true } });
    expect(message).toMatchObject({ answer: "Echo: Plan my trip please", status: "normal", query: "Plan my trip please", parentMessageId: null });
    expect(message.answerTokens).toBeGreaterThan(0);
    expect((message.messageMetadata as any).usage.total_tokens).toBe(message.messageTokens + message.answerTokens);
    expect(message.conversation).toMatchObject({ name: "Plan my trip please", fromEndUserId: claims(token).end_user_id, mode: "chat" });
    expect(message.conversation.inputs).toEqual({ traveller: "Ana", destination: "Kyoto", days: 4, notes: null, budget: true });
  });

  it("continues a conversation with its history and the previous message as parent", async () => {
    const first = await (await post("/chat-messages", { query: "A first question that is long", inputs })).json();
    expect(first.conversation_id).toBeTruthy();
    const conv = await s.rt.db.conversation.findUniqueOrThrow({ where: { id: first.conversation_id } });
    expect(conv.name).toBe("A first question tha…"); // 20 characters and an ellipsis
    fake.setReply(() => "Second answer");
    const second = await (await post("/chat-messages", { query: "And then?", inputs: { traveller: "ignored" }, conversation_id: first.conversation_id })).json();
    expect(second.conversation_id).toBe(first.conversation_id);
    expect(fake.requests.at(-1)!.body.messages.slice(1)).toEqual([
      { role: "user", content: "A first question that is long" },
      { role: "assistant", content: "Echo: A first question that is long" },
      { role: "user", content: "And then?" },
    ]);
    const saved = await s.rt.db.message.findUniqueOrThrow({ where: { id: second.message_id } });
    expect(saved.parentMessageId).toBe(first.message_id);
    // An existing conversation keeps the inputs it started with.
    expect(saved.inputs).toMatchObject({ traveller: "Ana" });
  });

  it("answers blocking when response_mode is absent, in Dify's blocking shape", async () => {
    const res = await post("/chat-messages", { query: "hi", inputs });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({
      event: "message",
      task_id: expect.any(String),
      id: body.message_id,
      message_id: expect.any(String),
      conversation_id: expect.any(String),
      mode: "chat",
      answer: "Echo: hi",
      metadata: { retriever_resources: [] },
      created_at: expect.any(Number),
    });
  });

  it("streams completion messages without a conversation id, and answers them blocking", async () => {
    const ctoken = await s.passport(completion.code);
    const res = await post("/completion-messages", { inputs: { product: "tea", tone: "playful" }, query: "", response_mode: "streaming" }, ctoken);
    const { events } = await readSse(res);
    expect(events.at(-1).event).toBe("message_end");
    for (const e of events) expect(e).not.toHaveProperty("conversation_id");
    expect(answerOf(events)).toBe("Echo: Write a slogan for tea in a playful tone.");
    const blocking = await (await post("/completion-messages", { inputs: { product: "tea" } }, ctoken)).json();
    expect(blocking).toMatchObject({ event: "message", mode: "completion", answer: "Echo: Write a slogan for tea in a  tone." });
    expect(blocking).not.toHaveProperty("conversation_id");
  });

  it("streams agent-chat as agent_thought and agent_message events", async () => {
    const atoken = await s.passport(agent.code);
    const { events } = await readSse(await post("/chat-messages", { query: "Analyse AAPL", inputs: {}, response_mode: "streaming" }, atoken));
    const kinds = [...new Set(events.map((e) => e.event))];
    expect(kinds).toEqual(["agent_thought", "agent_message", "message_end"]);
    expect(events[0]).toMatchObject({ event: "agent_thought", position: 1, thought: "", tool: "", tool_labels: {}, message_files: [] });
    const last = events.filter((e) => e.event === "agent_thought").at(-1);
    expect(last.thought).toBe(answerOf(events));
    expect(last.id).toBe(events[0].id);
  });

  it("validates before anything starts: real 4xx with Dify's codes", async () => {
    const bad = await post("/chat-messages", { query: "hi", inputs: { ...inputs, destination: "Paris" } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      code: "invalid_param",
      message: "destination in input form must be one of the following: ['Lisbon', 'Kyoto', 'Quito']",
      params: "destination",
      status: 400,
    });
    const missing = await post("/chat-messages", { query: "hi", inputs: { destination: "Kyoto" } });
    expect(await missing.json()).toMatchObject({ code: "invalid_param", message: "traveller is required in input form" });
    expect((await (await post("/chat-messages", { query: "  ", inputs })).json()).message).toBe("query is required");
    expect((await (await post("/chat-messages", { query: "hi", inputs, response_mode: "fast" })).json()).params).toBe("response_mode");
    const unknown = await post("/chat-messages", { query: "hi", inputs, conversation_id: "00000000-0000-4000-8000-000000000000" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ code: "not_found", message: "Conversation Not Exists.", status: 404 });
    expect((await post("/chat-messages", { query: "hi", inputs, conversation_id: "nope" })).status).toBe(400);
    const wrongMode = await post("/completion-messages", { inputs: {} });
    expect(await wrongMode.json()).toMatchObject({ code: "not_completion_app", status: 400 });
    const ctoken = await s.passport(completion.code);
    expect(await (await post("/chat-messages", { query: "hi", inputs: {} }, ctoken)).json()).toMatchObject({ code: "not_chat_app" });
    expect(fake.requests.filter((r) => r.body?.messages?.at(-1)?.content === "hi" && r.body?.messages?.[0]?.content?.includes("Paris"))).toEqual([]);
  });

  it("does not let another end user continue someone's conversation", async () => {
    const mine = await (await post("/chat-messages", { query: "private", inputs })).json();
    const other = await s.passport(chat.code);
    const res = await post("/chat-messages", { query: "let me in", inputs, conversation_id: mine.conversation_id }, other);
    expect(res.status).toBe(404);
  });

  it("answers an input that hits a sensitive word with the preset reply, typed out", async () => {
    const res = await post("/chat-messages", { query: "tell me something FORBIDDEN", inputs, response_mode: "streaming" });
    const { events } = await readSse(res);
    const deltas = events.filter((e) => e.event === "message");
    expect(deltas.map((e) => e.answer)).toEqual([..."I cannot help with that."]);
    expect(events.at(-1).event).toBe("message_end");
    expect(fake.requests.some((r) => JSON.stringify(r.body).includes("FORBIDDEN"))).toBe(false);
  });

  it("replaces an output that hits a sensitive word with message_replace", async () => {
    fake.setReply(() => "this answer is forbidden territory");
    const { events } = await readSse(await post("/chat-messages", { query: "hi", inputs, response_mode: "streaming" }));
    const replace = events.find((e) => e.event === "message_replace");
    expect(replace).toMatchObject({ answer: "Let us talk about something else.", reason: "output_moderation" });
    expect(events.at(-1).event).toBe("message_end");
    const saved = await s.rt.db.message.findUniqueOrThrow({ where: { id: replace.message_id } });
    expect(saved.answer).toBe("Let us talk about something else.");
  });

  it.each([
    [401, "provider_not_initialize"],
    [404, "model_currently_not_support"],
    [500, "completion_request_error"],
  ])("maps an upstream %i to %s: an error event when streaming, an HTTP error when blocking", async (status, code) => {
    fake.setReply(() => ({ error: { status, message: `upstream says ${status}` } }));
    const { events } = await readSse(await post("/chat-messages", { query: "hi", inputs, response_mode: "streaming" }));
    const error = events.at(-1);
    expect(error).toMatchObject({ event: "error", code, status: 400 });
    expect(error.message).toContain(`upstream says ${status}`);
    expect(error).not.toHaveProperty("task_id");
    const saved = await s.rt.db.message.findUniqueOrThrow({ where: { id: error.message_id } });
    expect(saved.status).toBe("error");
    expect(saved.error).toContain(`upstream says ${status}`);
    const blocking = await post("/chat-messages", { query: "hi", inputs });
    expect(blocking.status).toBe(400);
    expect((await blocking.json()).code).toBe(code);
  });

  it("stops mid-stream for the owner: the upstream call is aborted, the partial answer saved, the stream closed", async () => {
    fake.setReply(() => Array.from({ length: 40 }, (_, i) => `w${i}`).join(" "));
    fake.setTokenDelay(30);
    const res = await post("/chat-messages", { query: "long one", inputs, response_mode: "streaming" });
    const upstream = () => fake.requests.findLast((r) => r.body?.messages?.at(-1)?.content === "long one")!;
    const stranger = await s.passport(chat.code);
    const events: any[] = [];
    let ownerStopped = false;
    for await (const event of sseEvents(res)) {
      events.push(event);
      // A stranger's stop does nothing, and says success, as Dify does: the stream goes on for three
      // more tokens, and then the owner's stop ends it.
      if (events.length === 3) expect(await (await post(`/chat-messages/${event.task_id}/stop`, {}, stranger)).json()).toEqual({ result: "success" });
      if (events.length === 6) {
        expect(upstream().aborted).toBe(false);
        expect(await (await post(`/chat-messages/${event.task_id}/stop`, {})).json()).toEqual({ result: "success" });
        ownerStopped = true;
      }
    }
    expect(ownerStopped).toBe(true);
    expect(events.at(-1).event).toBe("message_end");
    const streamed = answerOf(events);
    expect(streamed.split(" ").length).toBeGreaterThanOrEqual(6);
    expect(streamed.split(" ").length).toBeLessThan(40);
    await upstream().ended;
    expect(upstream().aborted).toBe(true);
    const saved = await s.rt.db.message.findUniqueOrThrow({ where: { id: events[0].message_id } });
    expect(saved.answer).toBe(streamed);
    expect(saved.status).toBe("normal");
    expect(saved.answerTokens).toBeGreaterThan(0);
  });

  it("keeps generating when the client disconnects, and saves the full answer", async () => {
    const words = Array.from({ length: 20 }, (_, i) => `x${i}`).join(" ");
    fake.setReply(() => words);
    fake.setTokenDelay(15);
    const controller = new AbortController();
    const res = await s.api("/chat-messages", {
      method: "POST",
      passport: token,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "disconnect me", inputs, response_mode: "streaming" }),
      signal: controller.signal,
    });
    const got = await readSse(res, { until: (_e, all) => all.length >= 3 });
    controller.abort();
    const id = got.events[0].message_id;
    const saved = await waitFor(async () => {
      const m = await s.rt.db.message.findUniqueOrThrow({ where: { id } });
      return m.answer === words && m;
    });
    expect(saved.status).toBe("normal");
    expect(fake.requests.at(-1)!.completed).toBe(true);
  });
});
