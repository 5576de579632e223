// Resume, more-like-this and suggested questions over REST.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { answerOf, readSse, sseEvents, waitFor } from "../support/sse.js";
import { startTestServer, taskBackends, type TestServer } from "../support/server.js";

describe.each(taskBackends)("resume and follow-ups on %s", (_name, backend, taskEnv) => {
  let fake: FakeOpenAI;
  let s: TestServer;
  let chat: { id: string; code: string };
  let completion: { id: string; code: string };
  let token: string;
  const inputs = { traveller: "Ana", destination: "Quito" };

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    s = await startTestServer(backend, { OPENAI_BASE_URL: fake.baseUrl, TASK_RETENTION_SECONDS: "2", ...taskEnv });
    chat = await s.importApp("apps/chat-travel-planner.yml");
    completion = await s.importApp("apps/completion-slogan-writer.yml");
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

  describe("resume", () => {
    it("replays what the caller missed after the cursor and continues live", async () => {
      fake.setReply(() => Array.from({ length: 12 }, (_, i) => `t${i}`).join(" "));
      fake.setTokenDelay(25);
      const res = await post("/chat-messages", { query: "resume me", inputs, response_mode: "streaming" });
      const first: any[] = [];
      for await (const e of sseEvents(res)) {
        first.push(e);
        if (first.length === 3) break; // the client drops after three events
      }
      const taskId = first[0].task_id;
      const resumed = await readSse(await s.api(`/chat-messages/${taskId}/events?cursor=3`, { passport: token }));
      expect(resumed.ids[0]).toBe(4);
      expect(resumed.events.at(-1).event).toBe("message_end");
      expect(answerOf([...first, ...resumed.events])).toBe(Array.from({ length: 12 }, (_, i) => `t${i}`).join(" "));
      // Last-Event-ID works too, and a finished task still replays within the retention window.
      const again = await readSse(await s.api(`/chat-messages/${taskId}/events`, { passport: token, headers: { "Last-Event-ID": "10" } }));
      expect(again.ids[0]).toBe(11);
      const all = await readSse(await s.api(`/chat-messages/${taskId}/events`, { passport: token }));
      expect(all.ids[0]).toBe(1);
      expect(answerOf(all.events)).toBe(answerOf([...first, ...resumed.events]));
    });

    it("is for the owner only, checks the cursor, and says when the events have expired", async () => {
      const { events } = await readSse(await post("/chat-messages", { query: "short", inputs, response_mode: "streaming" }));
      const taskId = events[0].task_id;
      const stranger = await s.passport(chat.code);
      const denied = await s.api(`/chat-messages/${taskId}/events`, { passport: stranger });
      expect(denied.status).toBe(404);
      expect((await denied.json()).code).toBe("not_found");
      expect((await s.api(`/chat-messages/00000000-0000-4000-8000-000000000000/events`, { passport: token })).status).toBe(404);
      for (const cursor of ["-1", "abc", "1-0", "99999999999999999999"]) {
        const bad = await s.api(`/chat-messages/${taskId}/events?cursor=${cursor}`, { passport: token });
        expect(bad.status, cursor).toBe(400);
        expect((await bad.json()).params).toBe("cursor");
      }
      // TASK_RETENTION_SECONDS=2 after the task finished: the replay answers until then, and 410 after.
      const expired = await waitFor(async () => {
        const res = await s.api(`/chat-messages/${taskId}/events`, { passport: token });
        if (res.status === 410) return res;
        expect(res.status).toBe(200);
        await res.body?.cancel();
      }, 10_000);
      expect((await expired.json()).code).toBe("task_events_expired");
    });
  });

  describe("more like this", () => {
    it("generates again from a completion message's inputs, blocking", async () => {
      const ctoken = await s.passport(completion.code);
      const original = await (await post("/completion-messages", { inputs: { product: "kites", tone: "serious" } }, ctoken)).json();
      fake.setReply(() => "Fly higher.");
      const res = await s.api(`/messages/${original.message_id}/more-like-this?response_mode=blocking`, { passport: ctoken });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toMatchObject({ event: "message", mode: "completion", answer: "Fly higher." });
      expect(body.message_id).not.toBe(original.message_id);
      expect(fake.requests.at(-1)!.body.messages.at(-1).content).toBe("Write a slogan for kites in a serious tone.");
      const missingMode = await s.api(`/messages/${original.message_id}/more-like-this`, { passport: ctoken });
      expect((await missingMode.json()).params).toBe("response_mode");
      const other = await s.passport(completion.code);
      expect((await s.api(`/messages/${original.message_id}/more-like-this?response_mode=blocking`, { passport: other })).status).toBe(404);
      const onChat = await s.api(`/messages/${original.message_id}/more-like-this?response_mode=blocking`, { passport: token });
      expect((await onChat.json()).code).toBe("not_completion_app");
    });
  });

  describe("suggested questions", () => {
    it("asks the model for three follow-ups and answers {data}", async () => {
      const msg = await (await post("/chat-messages", { query: "What is Quito like?", inputs })).json();
      fake.setReply(() => 'Sure: ["Best food?","Altitude?","When to go?"]');
      const res = await s.api(`/messages/${msg.message_id}/suggested-questions`, { passport: token });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ data: ["Best food?", "Altitude?", "When to go?"] });
      const prompt = fake.requests.at(-1)!.body.messages[0].content;
      expect(prompt).toContain("Human: What is Quito like?");
      expect(prompt).toContain("three most likely questions");
      fake.setReply(() => "not json at all");
      expect(await (await s.api(`/messages/${msg.message_id}/suggested-questions`, { passport: token })).json()).toEqual({ data: [] });
      const other = await s.passport(chat.code);
      expect((await s.api(`/messages/${msg.message_id}/suggested-questions`, { passport: other })).status).toBe(404);
    });

    it("is refused when the app has the feature off", async () => {
      const app = await s.importApp("dsl-corpus/chat-code-interpreter.yml");
      const t = await s.passport(app.code);
      const msg = await (await post("/chat-messages", { query: "explain this", inputs: {} }, t)).json();
      const res = await s.api(`/messages/${msg.message_id}/suggested-questions`, { passport: t });
      expect(res.status).toBe(403);
      expect((await res.json()).code).toBe("app_suggested_questions_after_answer_disabled");
    });
  });
});
