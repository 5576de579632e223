// The SSE writer on a real socket: Dify's framing, pings in silence, the close after the last event.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSse } from "../../src/rest/sse.js";
import { readSse } from "../support/sse.js";

describe("writeSse", () => {
  let server: http.Server;
  let url: string;
  let readerStopped = false;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const slow = req.url === "/slow";
      async function* events(signal: AbortSignal) {
        try {
          yield { seq: 1, event: { text: "first", ünï: "çødé" } };
          await new Promise((r) => setTimeout(r, slow ? 1_000 : 450)); // silence: pings
          if (signal.aborted) return;
          yield { seq: 2, event: { text: "skip me" } };
          yield { seq: 3, event: { text: "last" } };
        } finally {
          readerStopped = true;
        }
      }
      void writeSse(req, res, events, (e: any) => (e.text === "skip me" ? null : { event: "message", ...e }), 100);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("writes one-line JSON data events with ids, pings while idle, and closes after the last", async () => {
    const res = await fetch(url);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("x-accel-buffering")).toBe("no");
    const read = await readSse(res);
    expect(read.events).toEqual([
      { event: "message", text: "first", ünï: "çødé" },
      { event: "message", text: "last" },
    ]);
    expect(read.ids).toEqual([1, 3]);
    expect(read.pings).toBeGreaterThanOrEqual(2);
    expect(read.raw).toMatch(/^id: 1\ndata: \{"event":"message","text":"first","ünï":"çødé"\}\n\n/);
    expect(read.raw).toContain("event: ping\n\n");
  });

  it("stops reading when the client goes away", async () => {
    readerStopped = false;
    const controller = new AbortController();
    const res = await fetch(`${url}/slow`, { signal: controller.signal });
    await readSse(res, { until: () => true });
    controller.abort();
    await new Promise((r) => setTimeout(r, 1_300));
    expect(readerStopped).toBe(true);
  });
});
