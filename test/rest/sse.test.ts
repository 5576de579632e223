// The SSE writer on a real socket: Dify's framing, pings in silence, the close after the last event.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSse } from "../../src/rest/sse.js";
import { readSse } from "../support/sse.js";

describe("writeSse", () => {
  let server: http.Server;
  let url: string;
  /** How the last /slow reader ended: stopped by the client going away, or run to its end. */
  let slowReader: Promise<"stopped" | "ran to the end">;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const slow = req.url === "/slow";
      let ended!: (how: "stopped" | "ran to the end") => void;
      if (slow) slowReader = new Promise((resolve) => (ended = resolve));
      async function* events(signal: AbortSignal) {
        yield { seq: 1, event: { text: "first", ünï: "çødé" } };
        if (slow) {
          // Open for a long while; the test's client goes away meanwhile and writeSse must tell us.
          await new Promise((r) => {
            setTimeout(r, 10_000).unref();
            signal.addEventListener("abort", r, { once: true });
          });
          if (signal.aborted) return ended("stopped");
        } else await new Promise((r) => setTimeout(r, 450)); // silence, which must produce pings
        yield { seq: 2, event: { text: "skip me" } };
        yield { seq: 3, event: { text: "last" } };
        if (slow) ended("ran to the end");
      }
      void writeSse(req, res, events, (e: any) => (e.text === "skip me" ? null : { event: "message", ...e }), 100);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections(); // fetch keeps idle connections open for seconds
  }));

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
    const controller = new AbortController();
    const res = await fetch(`${url}/slow`, { signal: controller.signal });
    await readSse(res, { until: () => true });
    controller.abort();
    expect(await slowReader).toBe("stopped");
  });
});
