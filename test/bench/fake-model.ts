// The model for the streaming bench: test/support/fake-openai.ts (a real OpenAI-wire HTTP server) in
// its own process, so its timers and writes share an event loop with neither the server nor the load
// generator. Forked by run.mjs with `--import tsx`; driven over IPC:
//
//   parent → { type: "start", tokens, tokenDelayMs }   child → { type: "ready", baseUrl }
//   parent → { type: "record", on }                     child → { type: "recording", on }
//   parent → { type: "dump" }                           child → { type: "dump", replyAt, writes }
//   parent → { type: "stats" }                          child → { type: "stats", peakOpen, open, total, completed, aborted }
//
// The reply to the user message `bench <id>` is `<id>:0 <id>:1 … <id>:<tokens-1>`, split by the fake
// into exactly `tokens` tokens (a word and its trailing space), so every token names its stream and its
// index: a client can tell a lost, reordered or misrouted token from the text alone.
//
// While recording, two instants per stream are noted on the system-wide monotonic clock
// (process.hrtime, CLOCK_MONOTONIC, the same clock in every process on the machine):
//   replyAt[id]        the fake has parsed the request and starts its per-token delays;
//   writes["id:i"]     token i is handed to the socket (res.write of its `data:` chunk).
// The bench subtracts these from its own arrival times to take the fake's timer jitter out of the figures.
import http from "node:http";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";

const monoMs = () => Number(process.hrtime.bigint()) / 1e6;

let recording = false;
const replyAt: Record<string, number> = {};
const writes: Record<string, number> = {};

// Instrument, not reimplement: note when each content chunk is written, then write it as before.
const CONTENT = /"content":"([a-z]\d+:\d+)/;
const originalWrite = http.ServerResponse.prototype.write;
(http.ServerResponse.prototype as any).write = function (this: http.ServerResponse, chunk: unknown, ...rest: unknown[]) {
  if (recording && typeof chunk === "string") {
    const m = CONTENT.exec(chunk);
    if (m) writes[m[1]] = monoMs();
  }
  return (originalWrite as any).call(this, chunk, ...rest);
};

function replyText(id: string, tokens: number): string {
  return Array.from({ length: tokens }, (_, i) => `${id}:${i}`).join(" ");
}

let fake: FakeOpenAI | undefined;
let peakOpen = 0;
let scanFrom = 0;

/** Streams the fake has open now (request received, response neither finished nor aborted). */
function openStreams(): number {
  const requests = fake!.requests;
  while (scanFrom < requests.length && (requests[scanFrom].completed || requests[scanFrom].aborted)) scanFrom++;
  let open = 0;
  for (let i = scanFrom; i < requests.length; i++) if (!requests[i].completed && !requests[i].aborted) open++;
  return open;
}

process.on("message", async (msg: any) => {
  switch (msg.type) {
    case "start": {
      const tokens: number = msg.tokens;
      fake = await startFakeOpenAI({
        tokenDelayMs: msg.tokenDelayMs,
        reply: (body) => {
          const last = Array.isArray(body?.messages) ? body.messages.at(-1) : undefined;
          const id = /^bench ([a-z]\d+)$/.exec(typeof last?.content === "string" ? last.content : "")?.[1] ?? "x0";
          if (recording) replyAt[id] = monoMs();
          return replyText(id, tokens);
        },
      });
      // The peak number of streams open at once, sampled every 20 ms.
      setInterval(() => {
        peakOpen = Math.max(peakOpen, openStreams());
      }, 20).unref();
      process.send!({ type: "ready", baseUrl: fake.baseUrl });
      break;
    }
    case "record":
      recording = msg.on;
      process.send!({ type: "recording", on: recording });
      break;
    case "dump":
      process.send!({ type: "dump", replyAt, writes });
      break;
    case "stats": {
      const requests = fake!.requests;
      const open = openStreams();
      process.send!({
        type: "stats",
        peakOpen: Math.max(peakOpen, open),
        open,
        total: requests.length,
        completed: requests.filter((r) => r.completed).length,
        aborted: requests.filter((r) => r.aborted).length,
      });
      if (msg.resetPeak) peakOpen = 0;
      break;
    }
  }
});

// Exit with the parent, even if it dies without killing us.
process.on("disconnect", () => process.exit(0));
