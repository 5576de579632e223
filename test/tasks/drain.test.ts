// SIGTERM drains: no new connections, running streams finish within the deadline; past it a generation
// ends with its partial answer saved and a run is left at its checkpoint, which the next start continues.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { sseEvents, waitFor } from "../support/sse.js";
import { startTestServer } from "../support/server.js";
import { startChildServer } from "../support/child-server.js";

const short = Array.from({ length: 40 }, (_, i) => `s${i}`).join(" ");
const long = Array.from({ length: 400 }, (_, i) => `l${i}`).join(" ");

/** POST a streaming chat; resolves with its events once the first `until` event came, the rest read on. */
async function stream(url: string, passport: string, body: object, until: (e: any) => boolean) {
  const res = await fetch(`${url}/api/chat-messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "X-App-Passport": passport },
    body: JSON.stringify({ response_mode: "streaming", ...body }),
  });
  const all: any[] = [];
  const iterator = sseEvents(res);
  for (;;) {
    const { value, done } = await iterator.next();
    if (done) break;
    all.push(value);
    if (until(value)) break;
  }
  const rest = (async () => {
    try {
      for await (const e of iterator) all.push(e);
    } catch {
      // cut off by the server's close
    }
    return all;
  })();
  return { first: all[0], rest };
}

describe("SIGTERM on the embedded server", () => {
  let fake: FakeOpenAI;
  let dataDir: string;
  let chatToken: string;
  let flowToken: string;
  const inputs = { traveller: "Ana", destination: "Lisbon" };

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: (body) => (JSON.stringify(body).includes("long") ? long : short), tokenDelayMs: 20 });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-drain-"));
    const setup = await startTestServer("pglite", { DATA_DIR: dataDir });
    chatToken = await setup.passport((await setup.importApp("apps/chat-travel-planner.yml")).code);
    flowToken = await setup.passport((await setup.importApp("workflows/chatflow-prefixed-answers.yml")).code);
    await setup.close();
  }, 120_000);
  afterAll(async () => {
    await fake?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("lets a running stream finish and takes no new connection", async () => {
    const child = await startChildServer({ OPENAI_BASE_URL: fake.baseUrl, DATA_DIR: dataDir, DRAIN_TIMEOUT_MS: "60000" });
    const chat = await stream(child.url, chatToken, { query: "short", inputs }, (e) => e.event === "message");
    const exited = child.terminate();
    await waitFor(async () => fetch(`${child.url}/healthz`).then(() => false, () => true), 20_000);
    const events = await chat.rest;
    expect(events.at(-1).event).toBe("message_end");
    expect(events.filter((e) => e.event === "message").map((e) => e.answer).join("")).toBe(short);
    expect(await exited).toBe(0);
  }, 120_000);

  it("past the deadline, saves the partial answer and leaves the run to the next start", async () => {
    const child = await startChildServer({ OPENAI_BASE_URL: fake.baseUrl, DATA_DIR: dataDir, DRAIN_TIMEOUT_MS: "300" });
    const chat = await stream(child.url, chatToken, { query: "long", inputs }, (e) => e.event === "message");
    const flow = await stream(child.url, flowToken, { query: "long", inputs: {} }, (e) => e.event === "message");
    expect(await child.terminate()).toBe(0);
    const chatEvents = await chat.rest;
    expect(chatEvents.at(-1)).toMatchObject({ event: "error", code: "task_lost" });
    const flowEvents = await flow.rest;
    expect(flowEvents.some((e) => e.event === "workflow_finished")).toBe(false);

    const next = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl, DATA_DIR: dataDir });
    try {
      const chatSaved = await next.rt.db.message.findUniqueOrThrow({ where: { id: chat.first.message_id } });
      expect(chatSaved.status).toBe("error");
      expect(chatSaved.answer.length).toBeGreaterThan(0);
      expect(long.startsWith(chatSaved.answer)).toBe(true);
      // The chatflow's run goes on here from its last finished node, and saves its whole answer.
      await waitFor(async () => (await next.rt.db.workflowRun.findUnique({ where: { id: flow.first.workflow_run_id } }))?.status === "succeeded", 30_000);
      const flowSaved = await next.rt.db.message.findUniqueOrThrow({ where: { id: flow.first.message_id } });
      expect({ answer: flowSaved.answer, status: flowSaved.status }).toEqual({ answer: `Answer: ${long} (done)\nYou asked: long`, status: "normal" });
    } finally {
      await next.close();
    }
  }, 120_000);
});
