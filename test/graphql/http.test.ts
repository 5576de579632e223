// GraphQL over HTTP: plain JSON posts take the fast path; everything else is yoga's adapter, and both answer alike.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

describe("GraphQL over HTTP", () => {
  let s: TestServer;
  let token: string;
  beforeAll(async () => {
    s = await startTestServer("pglite");
    token = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
  });
  afterAll(() => s?.close());

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${s.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });

  it("answers a query with variables and an operation name", async () => {
    const res = await post(
      { query: "query A { currentApp { ... on App { name } } } query B($c: String!) { passport: __typename x: __type(name: $c) { name } }", operationName: "B", variables: { c: "App" } },
      { authorization: `Bearer ${token}` },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ data: { passport: "Query", x: { name: "App" } } });
  });

  it("answers the same as yoga itself for syntax and validation errors: 400, whatever the client accepts", async () => {
    const viaFast = await post({ query: "{ currentApp { " });
    const viaYoga = await post({ query: "{ currentApp { " }, { accept: "application/graphql-response+json" });
    expect(viaFast.status).toBe(400);
    expect(viaYoga.status).toBe(400);
    expect(viaFast.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await viaFast.json()).toEqual(await viaYoga.json());
    const invalid = await post({ query: "{ nope }" });
    expect((await invalid.json()).errors[0].message).toMatch(/Cannot query field "nope"/);
    expect((await post("{not json")).status).toBe(400);
    expect((await post({ query: "{ __typename }", variables: [1] })).status).toBe(400);
  });

  it("runs mutations once", async () => {
    const before = await s.rt.db.endUser.count();
    const code = (await s.rt.db.site.findFirstOrThrow()).code;
    const res = await post({ query: `mutation { passport(appCode: "${code}") { ... on Passport { endUserId } } }` });
    expect((await res.json()).data.passport.endUserId).toBeTruthy();
    expect(await s.rt.db.endUser.count()).toBe(before + 1);
  });

  it("leaves GET, SSE and graphql-response+json to yoga", async () => {
    const get = await fetch(`${s.url}/graphql?query=${encodeURIComponent("{ __typename }")}`, { headers: { accept: "application/json" } });
    expect(await get.json()).toEqual({ data: { __typename: "Query" } });
    const typed = await post({ query: "{ __typename }" }, { accept: "application/graphql-response+json" });
    expect(typed.headers.get("content-type")).toMatch(/graphql-response\+json/);
    const sse = await post({ query: "{ __typename }" }, { accept: "text/event-stream" });
    expect(sse.headers.get("content-type")).toMatch(/text\/event-stream/);
    expect(await sse.text()).toContain('"__typename":"Query"');
  });
});
