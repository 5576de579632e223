// Answers spoken while they stream (text_to_speech.autoPlay "enabled"): tts_message events sentence by
// sentence beside the text, in order, and tts_message_end after message_end; the text never waits on
// speech. On both surfaces, for a chat app and a chatflow.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { silentMp3, startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { gqlSse, type GqlEvent } from "../support/graphql.js";
import { answerOf, readSse } from "../support/sse.js";
import { startTestServer, taskBackends, type TestServer } from "../support/server.js";

const MP3 = silentMp3(6);
const LONG_TAIL = `${"and so on ".repeat(15)}until the end.`;

const EVENTS = `__typename
  ... on GenerationEvent { seq messageId conversationId }
  ... on MessageDelta { answer }
  ... on SpokenAnswerChunk { audio }
  ... on AppError { code message }`;
const CHAT = `subscription($input: ChatMessageInput!) { chatMessage(input: $input) { ${EVENTS} } }`;

const spokenAudio = (events: { event?: string; audio?: string }[]) =>
  Buffer.concat(events.filter((e) => e.event === "tts_message").map((e) => Buffer.from(e.audio!, "base64")));

describe.each(taskBackends)("spoken answers on %s", (_name, backend, taskEnv) => {
  let fake: FakeOpenAI;
  let s: TestServer;
  let chat: string;
  let chatflow: string;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    s = await startTestServer(backend, { OPENAI_BASE_URL: fake.baseUrl, ...taskEnv });
    chat = await s.passport((await s.importApp("apps/chat-speech.yml")).code);
    chatflow = await s.passport((await s.importApp("apps/chatflow-speech.yml")).code);
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.setTokenDelay(0);
    fake.setSpeech({ audio: MP3, chunks: 3 });
  });

  const send = (passport: string, query: string) =>
    s.api("/chat-messages", {
      method: "POST",
      passport,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, inputs: {}, response_mode: "streaming" }),
    });
  const spokenTexts = (from: number) => fake.requests.slice(from).filter((r) => r.path === "/v1/audio/speech").map((r) => r.body.input);

  it("speaks a chat answer sentence by sentence while it streams, then ends the speech after message_end", async () => {
    fake.setReply(() => `Hello there. ${LONG_TAIL}`);
    fake.setTokenDelay(20);
    const from = fake.requests.length;
    const { events } = await readSse(await send(chat, "Talk to me"));
    const types = events.map((e) => e.event);
    const lastDelta = types.lastIndexOf("message");
    // The first sentence is heard while the rest of the answer is still being written.
    expect(types.indexOf("tts_message")).toBeLessThan(lastDelta);
    expect(answerOf(events)).toBe(`Hello there. ${LONG_TAIL}`);
    // Dify's order at the end: message_end, the rest of the speech, one tts_message_end, last.
    expect(types.at(-1)).toBe("tts_message_end");
    expect(types.filter((t) => t === "tts_message_end")).toHaveLength(1);
    expect(types.indexOf("message_end")).toBeLessThan(types.indexOf("tts_message_end"));
    // Every sentence spoken once, in order, and the chunks arrive in order: together, the MP3s back to back.
    expect(spokenTexts(from)).toEqual(["Hello there.", LONG_TAIL]);
    expect(spokenAudio(events)).toEqual(Buffer.concat([MP3, MP3]));
    expect(fake.requests.slice(from).find((r) => r.path === "/v1/audio/speech")!.body.voice).toBe("nova");
    const first = events[0];
    const tts = events.find((e) => e.event === "tts_message");
    expect(Object.keys(tts).sort()).toEqual(["audio", "conversation_id", "created_at", "event", "message_id", "task_id"]);
    expect(tts).toMatchObject({ conversation_id: first.conversation_id, message_id: first.message_id, task_id: first.task_id });
    expect(events.at(-1)).toMatchObject({ event: "tts_message_end", audio: "", message_id: first.message_id, task_id: first.task_id });
  });

  it("never holds the text back for speech: a slow speaker is heard after the whole answer", async () => {
    // Each sentence takes the speaker a second; the answer is written at once.
    fake.setSpeech({ audio: MP3, chunks: 1, chunkDelayMs: 1000 });
    fake.setReply(() => "One sentence. Another one.");
    const { events } = await readSse(await send(chat, "Quick"));
    const types = events.map((e) => e.event);
    expect(types.indexOf("message_end")).toBeLessThan(types.indexOf("tts_message"));
    const after = types.slice(types.indexOf("message_end") + 1);
    expect(after.at(-1)).toBe("tts_message_end");
    expect(after.slice(0, -1).every((t) => t === "tts_message")).toBe(true);
    expect(spokenAudio(events)).toEqual(Buffer.concat([MP3, MP3]));
  });

  it("speaks a chatflow's answer: tts events with the chat envelope, ended before workflow_finished", async () => {
    fake.setReply(() => `Sure thing. ${LONG_TAIL}`);
    fake.setTokenDelay(20);
    const from = fake.requests.length;
    const { events } = await readSse(await send(chatflow, "Go"));
    const types = events.map((e) => e.event);
    expect(types.indexOf("tts_message")).toBeLessThan(types.lastIndexOf("message"));
    expect(types.indexOf("message_end")).toBeLessThan(types.indexOf("tts_message_end"));
    expect(types.indexOf("tts_message_end")).toBeLessThan(types.indexOf("workflow_finished"));
    expect(types.at(-1)).toBe("workflow_finished");
    expect(spokenTexts(from)).toEqual(["Sure thing.", LONG_TAIL]);
    expect(spokenAudio(events)).toEqual(Buffer.concat([MP3, MP3]));
    expect(fake.requests.slice(from).find((r) => r.path === "/v1/audio/speech")!.body.voice).toBe("echo");
    const started = events.find((e) => e.event === "workflow_started");
    const tts = events.find((e) => e.event === "tts_message");
    expect(tts).toMatchObject({ conversation_id: started.conversation_id, message_id: started.message_id, task_id: started.task_id });
  });

  it("a failing speaker ends the speech, never the answer, and its end still follows the answer's", async () => {
    fake.setSpeech({ error: { status: 500, message: "speaker on fire" } });
    fake.setReply(() => "Still here. Really. Truly, still streaming on.");
    // Slow tokens: the first sentence's speech fails while the answer is still streaming.
    fake.setTokenDelay(40);
    const { events } = await readSse(await send(chat, "Anyone?"));
    const types = events.map((e) => e.event);
    expect(answerOf(events)).toBe("Still here. Really. Truly, still streaming on.");
    expect(types.indexOf("message_end")).toBeGreaterThan(-1);
    expect(types.indexOf("message_end")).toBeLessThan(types.indexOf("tts_message_end"));
    expect(types.filter((t) => t === "tts_message")).toHaveLength(0);
    expect(types.at(-1)).toBe("tts_message_end");
  });

  it("blocking answers are not spoken", async () => {
    fake.setReply(() => "Not spoken. At all.");
    const from = fake.requests.length;
    const res = await s.api("/chat-messages", {
      method: "POST",
      passport: chat,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "Blocking", inputs: {}, response_mode: "blocking" }),
    });
    expect(((await res.json()) as any).answer).toBe("Not spoken. At all.");
    expect(spokenTexts(from)).toEqual([]);
  });

  describe("over GraphQL", () => {
    const typesOf = (events: GqlEvent[]) => events.map((e) => e.__typename);

    it("streams the spoken answer as typed SpokenAnswerChunk / SpokenAnswerEnd events", async () => {
      fake.setReply(() => `Hello there. ${LONG_TAIL}`);
      fake.setTokenDelay(20);
      const events = await gqlSse(s, CHAT, { input: { query: "Talk" } }, { token: chat });
      const types = typesOf(events);
      expect(types.indexOf("SpokenAnswerChunk")).toBeLessThan(types.lastIndexOf("MessageDelta"));
      expect(types.indexOf("MessageEnd")).toBeLessThan(types.indexOf("SpokenAnswerEnd"));
      expect(types.at(-1)).toBe("SpokenAnswerEnd");
      const audio = Buffer.concat(events.filter((e) => e.__typename === "SpokenAnswerChunk").map((e) => Buffer.from(e.audio, "base64")));
      expect(audio).toEqual(Buffer.concat([MP3, MP3]));
      const delta = events.find((e) => e.__typename === "MessageDelta")!;
      expect(events.find((e) => e.__typename === "SpokenAnswerChunk")).toMatchObject({ messageId: delta.messageId, conversationId: delta.conversationId });
      // Sequence numbers: one log, text and speech interleaved in it.
      const seqs = events.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    });

    it("types a chatflow's speech events as the chat's, not as run events", async () => {
      fake.setReply(() => "Fine. Thanks.");
      const events = await gqlSse(s, CHAT, { input: { query: "Hi" } }, { token: chatflow });
      const types = typesOf(events);
      expect(types.filter((t) => t === "SpokenAnswerChunk").length).toBeGreaterThan(0);
      expect(types.indexOf("SpokenAnswerEnd")).toBeLessThan(types.indexOf("WorkflowFinished"));
      expect(types).not.toContain("RunFailed");
    });
  });
});
