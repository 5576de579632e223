// Client errors are client errors: malformed documents, bad variables and refused operations answer
// 4xx with a code and their real message (application/json included), and are logged once below
// error level. Only real internal errors are masked, and logged once at error level.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import { startTestServer, type TestServer } from "../support/server.js";
import { capturingLogger, LEVEL, type LogLine } from "../support/log.js";
import { createHttpServer } from "../../src/http-server.js";

describe("GraphQL client errors", () => {
  let s: TestServer;
  let token: string;
  let lines: LogLine[];

  beforeAll(async () => {
    const captured = capturingLogger("debug");
    lines = captured.lines;
    s = await startTestServer("pglite", {}, captured.log);
    token = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
  });
  afterAll(() => s?.close());

  async function post(body: unknown, headers: Record<string, string> = {}, url = s.url) {
    const res = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  }
  async function get(params: Record<string, string>) {
    const res = await fetch(`${s.url}/graphql?${new URLSearchParams(params)}`, { headers: { accept: "application/json", authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as any };
  }
  /** What the server logged while `fn` ran. */
  async function logged(fn: () => Promise<unknown>) {
    const from = lines.length;
    await fn();
    return lines.slice(from);
  }
  const MESSAGE = "query($id: ID!) { message(id: $id) { __typename } }";

  it.each([
    ["application/json", "application/json"],
    ["application/graphql-response+json", "application/graphql-response+json"],
  ])("answers parse and validation errors 400 with their code, for Accept: %s", async (_name, accept) => {
    const syntax = await post({ query: "{ currentApp { " }, { accept });
    expect(syntax).toEqual({ status: 400, body: { errors: [expect.objectContaining({ message: "Syntax Error: Expected Name, found <EOF>.", extensions: { code: "GRAPHQL_PARSE_FAILED" } })] } });
    const invalid = await post({ query: "{ xyzzy }" }, { accept });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors[0]).toMatchObject({ message: 'Cannot query field "xyzzy" on type "Query".', extensions: { code: "GRAPHQL_VALIDATION_FAILED" } });
  });

  it("answers variables that do not coerce 400 BAD_USER_INPUT, with graphql's message", async () => {
    const wrongType = await post({ query: MESSAGE, variables: { id: { a: 1 } } });
    expect(wrongType).toEqual({
      status: 400,
      body: { errors: [{ message: 'Variable "$id" got invalid value { a: 1 }; ID cannot represent value: { a: 1 }', locations: [{ line: 1, column: 7 }], extensions: { code: "BAD_USER_INPUT" } }] },
    });
    const missing = await post({ query: MESSAGE });
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0]).toMatchObject({ message: 'Variable "$id" of required type "ID!" was not provided.', extensions: { code: "BAD_USER_INPUT" } });
    const overGet = await get({ query: "query($n: Int) { conversations(first: $n) { __typename } }", variables: '{"n":"ten"}' });
    expect(overGet.status).toBe(400);
    expect(overGet.body.errors[0]).toMatchObject({ message: expect.stringMatching(/^Variable "\$n" got invalid value "ten"; Int cannot represent/), extensions: { code: "BAD_USER_INPUT" } });
  });

  it("answers unparsable variables and bodies 400 BAD_REQUEST", async () => {
    const badGet = await get({ query: MESSAGE, variables: "{bad" });
    expect(badGet.status).toBe(400);
    expect(badGet.body.errors[0]).toMatchObject({ message: expect.stringMatching(/^The request's variables or extensions are not valid JSON/), extensions: { code: "BAD_REQUEST" } });
    expect(await post({ query: MESSAGE, variables: '{"id": "x"' })).toMatchObject({ status: 400, body: { errors: [{ extensions: { code: "BAD_REQUEST" } }] } });
    expect(await post("{not json")).toMatchObject({ status: 400, body: { errors: [{ message: "POST body sent invalid JSON.", extensions: { code: "BAD_REQUEST" } }] } });
    expect(await post({})).toMatchObject({ status: 400, body: { errors: [{ message: "Must provide query string.", extensions: { code: "BAD_REQUEST" } }] } });
  });

  it("answers an operation it cannot pick 400", async () => {
    const two = await post({ query: "query A { __typename } query B { __typename }" });
    expect(two).toMatchObject({ status: 400, body: { errors: [{ extensions: { code: "OPERATION_RESOLUTION_FAILURE" } }] } });
    expect((await post({ query: "query A { __typename }", operationName: "C" })).status).toBe(400);
  });

  it("keeps domain errors typed results (200)", async () => {
    const res = await post({ query: "query($id: ID!) { message(id: $id) { ... on AppError { code status } } }", variables: { id: crypto.randomUUID() } });
    expect(res).toEqual({ status: 200, body: { data: { message: { code: "not_found", status: 404 } } } });
  });

  it("answers a domain error of a field without an error union with its code, logged below warn", async () => {
    // savedMessages is a connection (no AppError member); this app is a chat app, not a completion app.
    let res: Awaited<ReturnType<typeof post>> | undefined;
    const during = await logged(async () => (res = await post({ query: "{ savedMessages { edges { cursor } } }" })));
    expect(res!.status).toBe(200);
    expect(res!.body.errors).toMatchObject([{ message: "Not Completion App", extensions: { code: "not_completion_app", status: 400 } }]);
    expect(during.filter((l) => l.level >= LEVEL.warn)).toEqual([]);
  });

  it("answers a subscription asked for as application/json 406 with a JSON error, without starting it", async () => {
    const res = await post({ query: 'subscription { chatMessage(input: { query: "hi", inputs: { traveller: "Ana", destination: "Kyoto" } }) { __typename } }' }, { accept: "application/json" });
    expect(res.status).toBe(406);
    expect(res.body.errors).toMatchObject([{ message: expect.stringContaining("text/event-stream"), extensions: { code: "BAD_REQUEST" } }]);
    expect(await s.rt.db.message.count()).toBe(0);
  });

  it("logs each refused request once, at debug (or info for a limit), never at error", async () => {
    const requests: [string, () => Promise<unknown>, number][] = [
      ["parse", () => post({ query: "{ currentApp { " }), LEVEL.debug],
      ["variables", () => post({ query: MESSAGE, variables: { id: { a: 1 } } }), LEVEL.debug],
      ["GET variables", () => get({ query: MESSAGE, variables: "{bad" }), LEVEL.debug],
      ["aliases", () => post({ query: `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: currentApp { __typename }`).join(" ")} }` }), LEVEL.info],
    ];
    for (const [name, request, level] of requests) {
      const during = await logged(request);
      expect(during.filter((l) => l.level >= LEVEL.warn), name).toEqual([]);
      expect(during.filter((l) => l.msg === "GraphQL request refused").map((l) => l.level), name).toEqual([level]);
    }
  });

  it("masks a real internal error, and logs it once at error level", async () => {
    // A server on the same runtime with one more plugin, which fails the way a broken dependency would.
    const broken = createHttpServer(s.rt.core.services, s.config, s.rt.log, { plugins: [{ onExecute: () => { throw new Error("the database is on fire"); } }] });
    await new Promise<void>((resolve) => broken.server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(broken.server.address() as AddressInfo).port}`;
    try {
      let res!: Awaited<ReturnType<typeof post>>;
      const during = await logged(async () => (res = await post({ query: "{ __typename }" }, {}, url)));
      expect(res.body).toEqual({ errors: [{ message: "Unexpected error.", extensions: { code: "INTERNAL_SERVER_ERROR" } }] });
      const errors = during.filter((l) => l.level >= LEVEL.error);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ msg: "unexpected GraphQL error", err: { message: "the database is on fire" } });
    } finally {
      await broken.close();
    }
  });
});
