// GraphQL limits (src/graphql/policy.ts, cost.ts): a document that would fan out into model calls,
// database reads or parser work is refused before anything runs, on every HTTP path (the JSON fast
// path, yoga's own POST, GET, SSE); graphql-ws is in ws.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getNamedType, isInterfaceType, isObjectType } from "graphql";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { schema } from "../../src/graphql/index.js";
import { DEFAULT_PAGES, MODEL_CALLS } from "../../src/graphql/cost.js";
import { PARSE_CACHE } from "../../src/graphql/policy.js";
import { LRUCache } from "lru-cache";

const inputs = { traveller: "Bo", destination: "Lisbon" };
const aliases = (n: number, field: string) => Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(" ");
const CONVERSATIONS = "conversations { edges { node { id messages { edges { node { id query answer } } } } } }";

describe("GraphQL limits", () => {
  let fake: FakeOpenAI;
  let s: TestServer; // default limits
  let wide: TestServer; // tokens and aliases raised, so that documents reach the cost and model-call limits
  const ctx = new Map<TestServer, { token: string; messageId: string; conversationId: string }>();

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => '["Where to eat?","What to see?","How to get there?"]' });
    s = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl });
    wide = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl, GRAPHQL_MAX_TOKENS: "1000000", GRAPHQL_MAX_ALIASES: "100000" });
    for (const server of [s, wide]) {
      const token = await server.passport((await server.importApp("apps/chat-travel-planner.yml")).code);
      const sent = await server.graphql(
        `mutation($i: ChatMessageInput!) { sendChatMessage(input: $i) { ... on GenerationResult { messageId conversationId } } }`,
        { i: { query: "hello", inputs } },
        { authorization: `Bearer ${token}` },
      );
      ctx.set(server, { token, ...sent.data.sendChatMessage });
    }
  });
  afterAll(async () => {
    await Promise.all([s?.close(), wide?.close()]);
    await fake?.close();
  });

  async function post(server: TestServer, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) {
    const res = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ctx.get(server)!.token}`, ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
  }
  const json = (r: { text: string }) => JSON.parse(r.text);
  const limitsOf = (r: { text: string }) => json(r).errors.map((e: any) => e.extensions.limit);

  /** Run `fn` and return how many requests the model got meanwhile. */
  async function modelCalls(fn: () => Promise<void>) {
    const before = fake.requests.length;
    await fn();
    return fake.requests.length - before;
  }

  const suggested = (server: TestServer, n: number) =>
    `{ ${aliases(n, `suggestedQuestions(messageId: "${ctx.get(server)!.messageId}") { __typename ... on SuggestedQuestionsPayload { questions } }`)} }`;
  const sends = (n: number) => `mutation($i: ChatMessageInput!) { ${aliases(n, "sendChatMessage(input: $i) { __typename }")} }`;

  it.each([
    ["5,000 aliases of suggestedQuestions", (server: TestServer) => suggested(server, 5000), undefined, "modelCalls"],
    ["200 aliases of sendChatMessage", () => sends(200), { i: { query: "x", inputs } }, "modelCalls"],
    ["5,000 aliases of conversations { messages }", () => `{ ${aliases(5000, CONVERSATIONS)} }`, undefined, "cost"],
  ])("refuses %s before any model call or read", async (_name, doc, variables, deeperLimit) => {
    // With the default limits the document is too long to parse; past that, too many aliases; past those, it costs too much.
    for (const [server, limit] of [[s, "tokens"], [wide, deeperLimit]] as const) {
      let r!: Awaited<ReturnType<typeof post>>;
      expect(await modelCalls(async () => void (r = await post(server, doc(server), variables)))).toBe(0);
      expect(r.status).toBe(400);
      expect(limitsOf(r)).toContain(limit);
      expect(json(r).data).toBeUndefined();
    }
  });

  it("lets one operation start at most GRAPHQL_MAX_MODEL_CALLS (5) model calls", async () => {
    let five!: Awaited<ReturnType<typeof post>>;
    expect(await modelCalls(async () => void (five = await post(s, suggested(s, 5))))).toBe(5);
    expect(Object.values(json(five).data)).toEqual(Array(5).fill({ __typename: "SuggestedQuestionsPayload", questions: ["Where to eat?", "What to see?", "How to get there?"] }));
    let six!: Awaited<ReturnType<typeof post>>;
    expect(await modelCalls(async () => void (six = await post(s, suggested(s, 6))))).toBe(0);
    expect(six.status).toBe(400);
    expect(json(six).errors[0]).toMatchObject({
      message: expect.stringMatching(/6 model calls.*at most 5/),
      extensions: { code: "GRAPHQL_VALIDATION_FAILED", limit: "modelCalls", max: 5, actual: 6 },
    });
    // Renaming calls the model only when it generates the name.
    const { conversationId } = ctx.get(s)!;
    const rename = (auto: boolean) => `mutation { ${aliases(6, `renameConversation(id: "${conversationId}", name: "n", autoGenerate: ${auto}) { __typename }`)} }`;
    expect((await post(s, rename(false))).status).toBe(200);
    expect(limitsOf(await post(s, rename(true)))).toEqual(["modelCalls"]);
  });

  it("costs connections by the page they ask for, with the request's variables", async () => {
    const NESTED = `query($n: Int, $m: Int) { conversations(first: $n) { edges { node { id messages(first: $m) { edges { node { id query answer } } } } } } }`;
    const small = await post(s, NESTED, { n: 5, m: 5 });
    expect(small.status).toBe(200);
    expect(json(small).data.conversations.edges[0].node.messages.edges[0].node.query).toBe("hello");
    // The same document, with pages of 100: 1 + 100 × (4 + 5 × 100) fields.
    const large = await post(s, NESTED, { n: 100, m: 100 });
    expect(large.status).toBe(400);
    expect(json(large).errors).toEqual([
      expect.objectContaining({ extensions: { code: "GRAPHQL_VALIDATION_FAILED", limit: "cost", max: 10_000, actual: 50_401 } }),
    ]);
    // Without first/last, a connection costs its resolver's default page (20).
    expect(json(await post(s, `{ ${CONVERSATIONS} }`)).errors).toBeUndefined();
  });

  it("refuses deep documents, too many aliases and too many directives", async () => {
    const ofTypes = (n: number) => "ofType { ".repeat(n) + "name" + " }".repeat(n);
    const deep = await post(s, `{ __type(name: "Query") { fields { type { ${ofTypes(8)} } } } }`);
    expect(deep.status).toBe(400);
    expect(json(deep).errors[0]).toMatchObject({ message: "Query depth limit of 10 exceeded, found 12.", extensions: { limit: "depth" } });
    expect((await post(s, `{ __type(name: "Query") { fields { type { ${ofTypes(6)} } } } }`)).status).toBe(200);
    // Far deeper than any parser stack: refused while parsing, as too long.
    expect(limitsOf(await post(s, `{ __type(name: "Query") { fields { type { ${ofTypes(5000)} } } } }`))).toEqual(["tokens"]);
    expect(limitsOf(await post(s, `{ ${aliases(16, "currentApp { __typename }")} }`))).toEqual(["aliases"]);
    expect((await post(s, `{ ${aliases(15, "currentApp { __typename }")} }`)).status).toBe(200);
    expect(limitsOf(await post(s, `{ ${"__typename @include(if: true) ".repeat(51)} }`))).toEqual(["directives"]);
  });

  it("refuses JSON arguments nested deeper than 64, as variables and as literals", async () => {
    const nested = (n: number): unknown => (n === 0 ? "x" : { a: nested(n - 1) });
    const SUBMIT = `mutation($v: JSON) { submitHumanInput(token: "t", action: "a", inputs: $v) { __typename } }`;
    const deep = await post(s, SUBMIT, { v: nested(70) });
    expect(deep.status).toBe(400);
    expect(json(deep).errors[0]).toMatchObject({ message: expect.stringContaining("nest at most 64 deep"), extensions: { code: "BAD_USER_INPUT" } });
    const literal = `mutation { submitHumanInput(token: "t", action: "a", inputs: ${"{a: ".repeat(70)}1${"}".repeat(70)}) { __typename } }`;
    const deepLiteral = await post(wide, literal);
    expect(deepLiteral.status).toBe(400);
    expect(json(deepLiteral).errors[0].message).toContain("nest at most 64 deep");
    // As deep as allowed: the operation runs (and answers the bad token as the domain does).
    const ok = await post(s, SUBMIT, { v: nested(63) });
    expect(json(ok).data.submitHumanInput.__typename).toBe("AppError");
  });

  it("keeps parsed documents by at most 4 MiB of their text, none over 16 KiB", () => {
    const cache = new LRUCache<string, {}>(PARSE_CACHE);
    cache.set("x".repeat(17 * 1024), {});
    expect(cache.size).toBe(0);
    for (let i = 0; i < 1024; i++) cache.set(`${i}`.padEnd(16 * 1024, " "), {});
    expect(cache.calculatedSize).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(cache.size).toBe(256);
  });

  it("applies on every HTTP path: GET, graphql-response+json, SSE", async () => {
    const over = `{ ${aliases(16, "currentApp { __typename }")} }`;
    const auth = { authorization: `Bearer ${ctx.get(s)!.token}` };
    const get = await fetch(`${s.url}/graphql?query=${encodeURIComponent(over)}`, { headers: { accept: "application/json", ...auth } });
    expect(get.status).toBe(400);
    expect((await get.json()).errors[0].extensions.limit).toBe("aliases");
    const typed = await post(s, over, undefined, { accept: "application/graphql-response+json" });
    expect([typed.status, typed.type, limitsOf(typed)]).toEqual([400, expect.stringMatching(/graphql-response\+json/), ["aliases"]]);
    const sse = await post(s, over, undefined, { accept: "text/event-stream" });
    expect(sse.status).toBe(400);
    expect(sse.text).toContain('"limit":"aliases"');
    // A subscription over SSE is measured like anything else.
    const CHAT = `subscription($i: ChatMessageInput!) { chatMessage(input: $i) { ... on MessageDelta { ${aliases(16, "answer")} } } }`;
    let streamed!: Awaited<ReturnType<typeof post>>;
    expect(await modelCalls(async () => void (streamed = await post(s, CHAT, { i: { query: "x", inputs } }, { accept: "text/event-stream" })))).toBe(0);
    expect([streamed.status, streamed.text]).toEqual([400, expect.stringContaining('"limit":"aliases"')]);
  });

  it("names only real fields in its tables, and has a default page for every connection", () => {
    const coordinates = new Set<string>();
    const connections: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) && !isInterfaceType(type)) continue;
      for (const field of Object.values(type.getFields())) {
        coordinates.add(`${type.name}.${field.name}`);
        if (field.args.some((a) => a.name === "first") && getNamedType(field.type).name.endsWith("Connection")) connections.push(`${type.name}.${field.name}`);
      }
    }
    expect(Object.keys(MODEL_CALLS).filter((c) => !coordinates.has(c))).toEqual([]);
    expect(connections.sort()).toEqual(Object.keys(DEFAULT_PAGES).sort());
  });
});
