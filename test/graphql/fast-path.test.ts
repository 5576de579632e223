// The JSON fast path skips yoga's Node adapter, not yoga: for a plain `POST application/json`, every
// yoga plugin hook runs (a persisted-operations-like check included), and a plugin that hooks the
// adapter itself (onRequest) turns the fast path off instead of being skipped.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import { createGraphQLError, type Plugin } from "graphql-yoga";
import { startTestServer, type TestServer } from "../support/server.js";
import { createHttpServer } from "../../src/http-server.js";

describe("yoga plugins and the JSON fast path", () => {
  let s: TestServer;
  let token: string;
  beforeAll(async () => {
    s = await startTestServer("pglite");
    token = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
  });
  afterAll(() => s?.close());

  /** The application's HTTP server on the test server's runtime, with `plugins` installed. */
  async function serve(plugins: Plugin<any, any, any>[]) {
    const http = createHttpServer(s.rt.core.services, s.config, s.rt.log, { plugins });
    await new Promise<void>((resolve) => http.server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(http.server.address() as AddressInfo).port}/graphql`;
    const post = async (query: string) => {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query }) });
      return { status: res.status, body: (await res.json()) as any };
    };
    return { post, close: () => http.close() };
  }

  /** Notes every hook it is called at, and which kind of request object yoga handed it. */
  function probe() {
    const calls: string[] = [];
    const requests: string[] = [];
    const plugin: Plugin<any, any, any> = {
      onRequestParse: ({ request }) => void (calls.push("onRequestParse"), requests.push(request.constructor.name)),
      onParams: () => void calls.push("onParams"),
      onExecute: () => void calls.push("onExecute"),
      onExecutionResult: () => void calls.push("onExecutionResult"),
      onResultProcess: () => void calls.push("onResultProcess"),
    };
    return { calls, requests, plugin };
  }

  it("runs every yoga hook for a plain JSON post, which takes the fast path", async () => {
    const { calls, requests, plugin } = probe();
    const server = await serve([plugin]);
    try {
      expect(await server.post("{ currentApp { ... on App { name } } }")).toEqual({ status: 200, body: { data: { currentApp: { name: "Travel planner" } } } });
      expect(calls).toEqual(["onRequestParse", "onParams", "onExecute", "onExecutionResult", "onResultProcess"]);
      expect(requests).toEqual(["BufferedRequest"]); // the fast path's request, not the adapter's
    } finally {
      await server.close();
    }
  });

  it("applies a persisted-operations-like check (onParams) to plain JSON posts", async () => {
    const allowed = new Set(["{ __typename }"]);
    const persisted: Plugin<any, any, any> = {
      onParams({ params, setResult }) {
        if (!allowed.has(params.query ?? "")) {
          setResult({ errors: [createGraphQLError("Only persisted operations are allowed.", { extensions: { code: "PERSISTED_QUERY_ONLY", http: { status: 403 } } })] });
        }
      },
    };
    const server = await serve([persisted]);
    try {
      expect(await server.post("{ __typename }")).toEqual({ status: 200, body: { data: { __typename: "Query" } } });
      expect(await server.post("{ currentApp { __typename } }")).toEqual({
        status: 403,
        body: { errors: [{ message: "Only persisted operations are allowed.", extensions: { code: "PERSISTED_QUERY_ONLY" } }] },
      });
    } finally {
      await server.close();
    }
  });

  it("turns the fast path off for a plugin that hooks the adapter (onRequest), which then runs too", async () => {
    const { calls, requests, plugin } = probe();
    const server = await serve([plugin, { onRequest: () => void calls.push("onRequest") }]);
    try {
      expect((await server.post("{ __typename }")).body).toEqual({ data: { __typename: "Query" } });
      expect(calls).toEqual(["onRequest", "onRequestParse", "onParams", "onExecute", "onExecutionResult", "onResultProcess"]);
      expect(requests).not.toContain("BufferedRequest");
    } finally {
      await server.close();
    }
  });
});
