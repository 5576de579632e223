// What a chatflow's user sees and what is saved for them: answers with text around a streamed
// reference, and values (like an empty sys.files) rendered the way Dify renders them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { answerOf, readSse } from "../support/sse.js";
import { startTestServer, type TestServer } from "../support/server.js";

describe("chatflow answer text over REST", () => {
  let fake: FakeOpenAI;
  let s: TestServer;
  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => "Hello there" });
    s = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl });
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });

  /** One chatflow turn: the streamed events, the answer as saved (through GET /messages), what the model was asked. */
  const turn = async (query: string) => {
    const app = await s.importApp("workflows/chatflow-prefixed-answers.yml");
    const passport = await s.passport(app.code);
    const before = fake.requests.length;
    const res = await s.api("/chat-messages", {
      method: "POST",
      passport,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, inputs: {}, response_mode: "streaming" }),
    });
    expect(res.status).toBe(200);
    const { events } = await readSse(res);
    expect(events.at(-1)).toMatchObject({ event: "workflow_finished", data: { status: "succeeded" } });
    const listed = await s.api(`/messages?conversation_id=${events[0].conversation_id}`, { passport });
    expect(listed.status).toBe(200);
    const saved: string[] = (await listed.json()).data.map((m: any) => m.answer);
    const asked = fake.requests.slice(before).map((r) => r.body.messages);
    return { streamed: answerOf(events), saved, asked };
  };

  it("saves the answer exactly as it was streamed, text before and after the model's reply included", async () => {
    const { streamed, saved } = await turn("question");
    expect(streamed.startsWith("Answer: Hello there (done)\nYou asked: question")).toBe(true);
    expect(saved).toEqual([streamed]);
  });

  it("renders an empty sys.files as nothing, in the model's prompt and in the answer", async () => {
    const { streamed, asked } = await turn("question");
    expect(asked).toHaveLength(1);
    expect(asked[0].at(-1)).toEqual({ role: "user", content: "question" });
    expect(streamed).toBe("Answer: Hello there (done)\nYou asked: question");
  });
});
