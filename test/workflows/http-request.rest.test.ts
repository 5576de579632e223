// The http-request node, through the SSRF-safe client: private addresses only when allowed.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSse } from "../support/sse.js";
import { startTestServer, type TestServer } from "../support/server.js";

describe("http-request node", () => {
  let target: http.Server;
  let base: string;
  const seen: { url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    target = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen.push({ url: req.url!, headers: req.headers, body });
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ got: body }));
      });
    });
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(target.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => target.close(() => r())));

  async function run(s: TestServer, url: string) {
    const app = await s.importApp("workflows/workflow-http-fetch.yml");
    const res = await s.api("/workflows/run", {
      method: "POST",
      passport: await s.passport(app.code, "tester"),
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: { url } }),
    });
    return (await readSse(res)).events.at(-1).data;
  }

  it("refuses loopback by default, before any connection (the fail branch takes over)", async () => {
    const s = await startTestServer("pglite");
    try {
      const before = seen.length;
      const finished = await run(s, base);
      expect(finished.outputs).toEqual({ error: "ssrf_refused" });
      expect(seen.length).toBe(before);
      const metadata = await run(s, "http://169.254.169.254/latest");
      expect(metadata.outputs).toEqual({ error: "ssrf_refused" });
    } finally {
      await s.close();
    }
  });

  it("sends method, params, headers, auth and a JSON body when OUTBOUND_ALLOW names the host", async () => {
    const s = await startTestServer("pglite", { OUTBOUND_ALLOW: "127.0.0.1" });
    try {
      const finished = await run(s, base);
      expect(finished.status).toBe("succeeded");
      expect(finished.outputs.status).toBe(200);
      const req = seen.at(-1)!;
      expect(req.url).toBe("/echo?q=hello&from=tester");
      expect(req.headers).toMatchObject({ "x-trace": "abc", authorization: "Bearer secret-token", "content-type": "application/json" });
      expect(JSON.parse(req.body)).toEqual({ asked: base });
      expect(JSON.parse(finished.outputs.body)).toEqual({ got: req.body });
    } finally {
      await s.close();
    }
  });
});
