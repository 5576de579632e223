// The REST layer's error envelope, CORS and routing, as Dify's web client meets them.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { createRestHandler } from "../../src/rest/index.js";
import { Router } from "../../src/rest/router.js";
import { invalidParam } from "../../src/core/errors.js";
import type { Services } from "../../src/core/services.js";
import { startTestServer, type TestServer } from "../support/server.js";

describe("REST errors on a running server", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer("pglite");
  });
  afterAll(() => s?.close());

  it("answers an unknown /api path with JSON 404", async () => {
    const res = await s.api("/no/such/path");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ code: "not_found", message: "The requested URL was not found on the server.", status: 404 });
  });

  it("answers a wrong method with JSON 405 and an Allow header", async () => {
    const res = await s.api("/parameters", { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, OPTIONS");
    expect(await res.json()).toEqual({ code: "method_not_allowed", message: "The method is not allowed for the requested URL.", status: 405 });
  });

  it("answers CORS preflights and echoes the Origin with credentials", async () => {
    const pre = await s.api("/chat-messages", {
      method: "OPTIONS",
      headers: { Origin: "http://localhost:3000", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-app-passport" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    expect(pre.headers.get("access-control-allow-credentials")).toBe("true");
    expect(pre.headers.get("access-control-allow-headers")).toBe("Content-Type, X-App-Code, X-App-Passport, Authorization, X-CSRF-Token");
    expect(pre.headers.get("access-control-allow-methods")).toContain("PATCH");
    const get = await s.api("/system-features", { headers: { Origin: "https://chat.example.com" } });
    expect(get.headers.get("access-control-allow-origin")).toBe("https://chat.example.com");
    expect(get.headers.get("access-control-allow-credentials")).toBe("true");
    expect(get.headers.get("vary")).toBe("Origin");
    const consolePre = await fetch(`${s.url}/console/api/system-features`, {
      method: "OPTIONS",
      headers: { Origin: "http://localhost:3000", "Access-Control-Request-Method": "GET" },
    });
    expect(consolePre.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    const gql = await fetch(`${s.url}/graphql`, { method: "OPTIONS", headers: { Origin: "http://localhost:3000", "Access-Control-Request-Method": "POST" } });
    expect(gql.status).toBe(204);
    expect(gql.headers.get("access-control-allow-credentials")).toBe("true");
  });

  it("answers /healthz when the database answers, and unknown paths outside /api with JSON 404", async () => {
    const health = await fetch(`${s.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    expect((await fetch(`${s.url}/nothing-here`)).status).toBe(404);
  });

  it("answers cross-origin calls only from CORS_ALLOW_ORIGINS when it is set, on both surfaces", async () => {
    const strict = await startTestServer("pglite", { CORS_ALLOW_ORIGINS: "https://chat.example.com, http://localhost:3000" });
    try {
      for (const path of ["/api/system-features", "/graphql"]) {
        const allowed = await fetch(strict.url + path, { method: "OPTIONS", headers: { Origin: "https://chat.example.com", "Access-Control-Request-Method": "POST" } });
        expect(allowed.headers.get("access-control-allow-origin")).toBe("https://chat.example.com");
        expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
        const other = await fetch(strict.url + path, { method: "OPTIONS", headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" } });
        expect(other.headers.get("access-control-allow-origin")).toBeNull();
        expect(other.headers.get("access-control-allow-credentials")).toBeNull();
        expect(other.headers.get("vary")).toBe("Origin");
      }
    } finally {
      await strict.close();
    }
  });

  it("gives every response a request id, echoing the caller's", async () => {
    expect((await s.api("/system-features")).headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect((await s.api("/system-features", { headers: { "X-Request-Id": "trace-42" } })).headers.get("x-request-id")).toBe("trace-42");
  });
});

// The JSON body parser and the masking of unexpected errors, through the real handler with routes of the test's own.
describe("REST request bodies and unexpected errors", () => {
  let server: http.Server;
  let base: string;
  const logged: unknown[] = [];

  beforeAll(async () => {
    const router = new Router()
      .on("POST", "/echo", async (ctx) => ({ status: 200, body: await ctx.json() }))
      .on("POST", "/validate", async (ctx) => {
        const body = await ctx.json();
        if (typeof body.name !== "string") throw invalidParam("name is required", "name");
        return { status: 200, body: { result: "success" } };
      })
      .on("GET", "/boom", async () => {
        throw new Error("secret internals at /srv/app.ts:42");
      })
      .on("DELETE", "/things/:id", async () => ({ status: 204 }));
    const log = pino({ level: "error" }, { write: (line: string) => logged.push(JSON.parse(line)) });
    // These routes use no use case: no services are needed.
    const handle = createRestHandler({} as Services, log, router);
    server = http.createServer((req, res) => handle(req, res, new URL(req.url!, "http://x"), "/api", { address: "127.0.0.1" }));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/api`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const post = (path: string, body: string, type = "application/json") =>
    fetch(base + path, { method: "POST", headers: { "content-type": type }, body });

  it("parses a JSON object body", async () => {
    const res = await post("/echo", '{"query":"hi","inputs":{}}');
    expect(await res.json()).toEqual({ query: "hi", inputs: {} });
    expect((await post("/echo", '{"a":1}', "application/json; charset=utf-8")).status).toBe(200);
  });

  it("answers malformed JSON with 400 bad_request", async () => {
    const res = await post("/echo", '{"query": "unterminated');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: "bad_request", message: "Invalid JSON payload received or JSON payload is empty.", status: 400 });
    expect((await post("/echo", "")).status).toBe(400);
    expect((await (await post("/echo", "[1,2]")).json()).code).toBe("bad_request");
  });

  it("answers a JSON endpoint called without a JSON content type with 415", async () => {
    const res = await post("/echo", '{"a":1}', "text/plain");
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ code: "unsupported_media_type", status: 415 });
    const none = await fetch(base + "/echo", { method: "POST", body: new Uint8Array([123, 125]) });
    expect(none.status).toBe(415);
  });

  it("adds params to invalid_param errors", async () => {
    const res = await post("/validate", "{}");
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: "invalid_param", message: "name is required", params: "name", status: 400 });
  });

  it("masks unexpected errors as Dify's 500 and logs them with the request id", async () => {
    const res = await fetch(base + "/boom", { headers: { "x-request-id": "req-boom" } });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ message: "Internal Server Error", code: "unknown", status: 500 });
    expect(text).not.toContain("secret internals");
    expect(logged).toContainEqual(expect.objectContaining({ requestId: "req-boom", err: expect.objectContaining({ message: "secret internals at /srv/app.ts:42" }) }));
  });

  it("answers 204 with no body", async () => {
    const res = await fetch(base + "/things/42", { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
  });
});
