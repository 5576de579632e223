// Dify's SSE wire format: `data: <one-line JSON>\n\n` per event, `event: ping\n\n` after 10 s of
// silence, and the connection closed after the last event. Each event also gets an `id:` line (its
// sequence number) so a client can resume with Last-Event-ID; Dify's parser ignores the line.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { LoggedEvent } from "../core/ports/task-store.js";
import { AppError } from "../core/errors.js";

export const PING_INTERVAL_MS = 10_000;

export const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache",
  "X-Accel-Buffering": "no",
  Connection: "keep-alive",
};

/**
 * Write `events` as SSE until they end or the client goes away. `render` maps an event to Dify's
 * object (null to skip it). The reading stops when the client disconnects; the task does not.
 */
export async function writeSse(
  req: IncomingMessage,
  res: ServerResponse,
  events: (signal: AbortSignal) => AsyncIterable<LoggedEvent>,
  render: (event: any) => object | null,
  pingIntervalMs = PING_INTERVAL_MS,
): Promise<void> {
  const gone = new AbortController();
  const onClose = () => gone.abort();
  res.on("close", onClose);
  res.writeHead(200, SSE_HEADERS);
  res.flushHeaders();
  let lastWrite = Date.now();
  const write = async (chunk: string) => {
    lastWrite = Date.now();
    if (!res.write(chunk) && !gone.signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    }
  };
  const pinger = setInterval(() => {
    if (Date.now() - lastWrite >= pingIntervalMs - 50) void write("event: ping\n\n");
  }, Math.min(1000, pingIntervalMs / 4));
  try {
    for await (const { seq, event } of events(gone.signal)) {
      if (gone.signal.aborted) break;
      const body = render(event);
      if (body) await write(`id: ${seq}\ndata: ${JSON.stringify(body)}\n\n`);
    }
  } catch (err) {
    // The headers are out: a domain error ends the stream as Dify's error event does.
    if (!(err instanceof AppError)) throw err;
    await write(`data: ${JSON.stringify({ event: "error", code: err.code, message: err.message, status: err.status })}\n\n`);
  } finally {
    clearInterval(pinger);
    res.off("close", onClose);
    if (!res.writableEnded) res.end();
  }
  void req;
}
