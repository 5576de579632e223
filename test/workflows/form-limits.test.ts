// The human-input form limit (Dify's 30 a minute per client, reads and answers apart) lives in the core:
// it counts REST and GraphQL requests alike, believes forwarding headers only behind TRUST_PROXY, and is
// shared by instances on one Redis.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, startTestServer, type TestServer } from "../support/server.js";

const TOKEN = "AAAAAAAAAAAAAAAAAAAAAA"; // names no form: every request is a 404 until the limit answers 429
const FORM = `query($t: String!) { humanInputForm(token: $t) { __typename ... on AppError { code status } } }`;
const SUBMIT = `mutation($t: String!) { submitHumanInput(token: $t, action: "x") { __typename ... on AppError { code status } } }`;

const restRead = (s: TestServer, headers: Record<string, string> = {}) => s.api(`/form/human_input/${TOKEN}`, { headers }).then((r) => r.status);
const restAnswer = (s: TestServer, headers: Record<string, string> = {}) =>
  s.api(`/form/human_input/${TOKEN}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ action: "x", inputs: {} }) }).then((r) => r.status);
const gqlStatus = async (s: TestServer, query: string, headers: Record<string, string> = {}) => {
  const body = await s.graphql(query, { t: TOKEN }, headers);
  return (Object.values(body.data)[0] as { status: number }).status;
};

describe("human input form limits", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer("pglite");
  });
  afterAll(async () => {
    await s?.close();
  });

  it("count REST and GraphQL reads together, and answers apart, per client address", async () => {
    const statuses: number[] = [];
    // X-Forwarded-For is anyone's to write: without TRUST_PROXY, a new value each time changes nothing.
    for (let i = 0; i < 15; i++) statuses.push(await restRead(s, { "X-Forwarded-For": `10.0.0.${i}` }));
    for (let i = 0; i < 15; i++) statuses.push(await gqlStatus(s, FORM, { "X-Forwarded-For": `10.1.0.${i}` }));
    expect(statuses).toEqual(Array(30).fill(404));
    expect(await restRead(s)).toBe(429);
    const limited = await s.graphql(FORM, { t: TOKEN });
    expect(limited.data.humanInputForm).toEqual({ __typename: "AppError", code: "web_form_rate_limit_exceeded", status: 429 });
    // Answers have a budget of their own, shared by both surfaces too.
    const answers: number[] = [];
    for (let i = 0; i < 15; i++) answers.push(await restAnswer(s));
    for (let i = 0; i < 15; i++) answers.push(await gqlStatus(s, SUBMIT));
    expect(answers).toEqual(Array(30).fill(404));
    expect(await gqlStatus(s, SUBMIT)).toBe(429);
    expect(await restAnswer(s)).toBe(429);
  });
});

describe("human input form limits behind one proxy (TRUST_PROXY=1)", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer("pglite", { TRUST_PROXY: "1" });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("count per address the proxy saw, whatever the client put in front of it", async () => {
    // The proxy appends the address it saw; a client's own entries come before it and are not believed.
    const alice = (i: number) => ({ "X-Forwarded-For": `6.6.6.${i}, 192.0.2.10` });
    const bob = { "X-Forwarded-For": "192.0.2.20" };
    for (let i = 0; i < 30; i++) expect(await restRead(s, alice(i))).toBe(404);
    expect(await restRead(s, alice(99))).toBe(429);
    expect(await gqlStatus(s, FORM, alice(100))).toBe(429);
    expect(await restRead(s, bob)).toBe(404);
    expect(await gqlStatus(s, FORM, { "CF-Connecting-IP": "198.51.100.7" })).toBe(404);
  });
});

const shared = Boolean(process.env.REDIS_URL && process.env.DATABASE_URL);

// Needs the services only CI and these machines have; `.ci/run` sets both variables, so it always runs there.
describe.skipIf(!shared)("human input form limits on two instances, one Redis (needs REDIS_URL and DATABASE_URL)", () => {
  let a: TestServer;
  let b: TestServer;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    const env = { DATABASE_URL: db.url, REDIS_URL: process.env.REDIS_URL!, TRUST_PROXY: "1" };
    a = await startTestServer("postgres", env);
    b = await startTestServer("postgres", env);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await drop?.();
  });

  it("count one client's requests on every instance together", async () => {
    // A client address of its own per run, so counts that earlier runs left in the shared Redis do not matter.
    const client = { "X-Forwarded-For": `2001:db8::${crypto.randomUUID().slice(0, 4)}:${crypto.randomUUID().slice(0, 4)}` };
    for (let i = 0; i < 20; i++) expect(await restRead(a, client)).toBe(404);
    for (let i = 0; i < 10; i++) expect(await restRead(b, client)).toBe(404);
    expect(await restRead(b, client)).toBe(429);
    expect(await gqlStatus(a, FORM, client)).toBe(429);
  });
});
