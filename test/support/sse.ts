// Reading SSE the way Dify's web client does (web/service/base.ts handleStream): split on "\n",
// parse every line that starts with "data: " as one JSON object, ignore everything else.
import { vi } from "vitest";

export type SseRead = { events: any[]; ids: number[]; pings: number; raw: string };

/** The events of an SSE response one at a time, as they arrive. */
export async function* sseEvents(res: Response): AsyncGenerator<any> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) if (line.startsWith("data: ")) yield JSON.parse(line.slice(6));
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

export async function readSse(res: Response, opts: { until?: (event: any, all: any[]) => boolean } = {}): Promise<SseRead> {
  const out: SseRead = { events: [], ids: [], pings: 0, raw: "" };
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const text = decoder.decode(value, { stream: true });
    out.raw += text;
    buffer += text;
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith("data: ")) {
        const event = JSON.parse(line.slice(6));
        out.events.push(event);
        if (opts.until?.(event, out.events)) {
          await reader.cancel();
          return out;
        }
      } else if (line.startsWith("id: ")) out.ids.push(Number(line.slice(4)));
      else if (line === "event: ping") out.pings++;
    }
  }
  return out;
}

/** The text a client shows: the concatenated deltas, with message_replace applied. */
export function answerOf(events: any[]): string {
  let answer = "";
  for (const e of events) {
    if (e.event === "message" || e.event === "agent_message") answer += e.answer;
    if (e.event === "message_replace") answer = e.answer;
  }
  return answer;
}

/** Poll `fn` until it answers something truthy (and resolve with it), or fail after `timeoutMs`. */
export const waitFor = <T>(fn: () => T | Promise<T>, timeoutMs = 5000) => vi.waitUntil(fn, { timeout: timeoutMs, interval: 20 });
