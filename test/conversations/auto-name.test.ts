// Auto-naming a conversation with the model, as Dify does: the model is asked for JSON and its
// "Your Output" names the conversation; any other reply names it after the query; names are cut at
// 75 characters plus "...". Over REST (POST /conversations/{id}/name) and GraphQL (renameConversation).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONVERSATION_TITLE_PROMPT } from "../../src/core/generation/conversation-name.js";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { startTestServer, type TestServer } from "../support/server.js";

const titleJson = (output: string) => JSON.stringify({ "Language Type": "English", "Your Reasoning": "The user plans a trip.", "Your Output": output });

describe("auto-generated conversation names", () => {
  let fake: FakeOpenAI;
  let s: TestServer;
  let code: string;
  /** What the model answers to the title prompt; chat turns get "Sure." */
  let titleReply = "";

  beforeAll(async () => {
    // Chat turns stream; the title request is the one that does not.
    fake = await startFakeOpenAI({ reply: (body) => (body.stream === true ? "Sure." : titleReply) });
    s = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl });
    code = (await s.importApp("apps/chat-travel-planner.yml")).code;
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });

  const inputs = { traveller: "Ana", destination: "Lisbon" };

  /** Each surface: start a conversation with `query`, then ask for a generated name. */
  const surfaces = {
    REST: async (query: string) => {
      const passport = await s.passport(code);
      const post = (path: string, body: object) =>
        s.api(path, { method: "POST", passport, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const sent = await (await post("/chat-messages", { query, inputs, response_mode: "blocking" })).json();
      const res = await post(`/conversations/${sent.conversation_id}/name`, { auto_generate: true });
      expect(res.status).toBe(200);
      return (await res.json()).name as string;
    },
    GraphQL: async (query: string) => {
      const auth = { authorization: `Bearer ${await s.passport(code)}` };
      const sent = await s.graphql(`mutation($i: ChatMessageInput!) { sendChatMessage(input: $i) { ... on GenerationResult { conversationId } } }`, { i: { query, inputs } }, auth);
      const renamed = await s.graphql(
        `mutation($id: ID!) { renameConversation(id: $id, autoGenerate: true) { __typename ... on RenameConversationPayload { conversation { name } } } }`,
        { id: sent.data.sendChatMessage.conversationId },
        auth,
      );
      expect(renamed.data.renameConversation.__typename).toBe("RenameConversationPayload");
      return renamed.data.renameConversation.conversation.name as string;
    },
  };

  /** The title prompts the model received since `since`. */
  const titleRequests = (since: number) => fake.requests.slice(since).filter((r) => r.body.stream !== true);

  describe.each(Object.entries(surfaces))("over %s", (_surface, nameAfter) => {
    it("uses the JSON reply's \"Your Output\", asking with Dify's title prompt", async () => {
      titleReply = titleJson("Lisbon week plan ✈️");
      const since = fake.requests.length;
      expect(await nameAfter("Plan a week in Lisbon\nwith kids")).toBe("Lisbon week plan ✈️");
      const [asked] = titleRequests(since);
      expect(CONVERSATION_TITLE_PROMPT).toContain('"Your Output": "<Intention + Subject>"');
      expect(CONVERSATION_TITLE_PROMPT.endsWith("User Input:\n")).toBe(true);
      expect(asked.body.messages).toEqual([{ role: "user", content: `${CONVERSATION_TITLE_PROMPT}Plan a week in Lisbon with kids\n` }]);
      expect(asked.body).toMatchObject({ max_tokens: 500, temperature: 1 });
    });

    it("reads JSON in a code fence too", async () => {
      titleReply = "```json\n" + titleJson("  Porto by train  ") + "\n```";
      expect(await nameAfter("How do I get to Porto?")).toBe("Porto by train");
    });

    it("falls back to the query (newlines as spaces) when the reply is not that JSON", async () => {
      for (const reply of ["Lisbon with kids", '"Lisbon with kids"', '{"title": "Lisbon with kids"}', titleJson("   ")]) {
        titleReply = reply;
        expect(await nameAfter("Plan a week in Lisbon\nwith kids"), reply).toBe("Plan a week in Lisbon with kids");
      }
    });

    it("cuts names at 75 characters plus \"...\", generated or fallen back to", async () => {
      const long = "A very long title about a very long trip through Portugal, Spain and France by train";
      titleReply = titleJson(long);
      expect(await nameAfter("Plan a long trip")).toBe(`${long.slice(0, 75)}...`);
      titleReply = "no JSON here";
      const query = "Plan a week in Lisbon with the kids, the grandparents and the dog, by train if we can";
      expect(await nameAfter(query)).toBe(`${query.slice(0, 75)}...`);
    });

    it("sends a query over 2000 characters as its first and last 300 around a marker", async () => {
      titleReply = titleJson("Long question");
      const since = fake.requests.length;
      const query = `${"a".repeat(300)}${"b".repeat(1500)}${"c".repeat(300)}`;
      expect(await nameAfter(query)).toBe("Long question");
      const [asked] = titleRequests(since);
      expect(asked.body.messages[0].content).toBe(`${CONVERSATION_TITLE_PROMPT}${"a".repeat(300)}...[TRUNCATED]...${"c".repeat(300)}\n`);
    });
  });
});
