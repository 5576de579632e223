// The zero-config default provider, and the factory that picks it.
import { afterEach, describe, expect, it } from "vitest";
import { createModelProvider, OfflineProvider, OpenAICompatibleProvider, type ChatMessage, type ModelStreamEvent } from "../../src/providers/model/index.js";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";

const messages: ChatMessage[] = [
  { role: "system", content: "You are a travel planner." },
  { role: "user", content: "First question" },
  { role: "assistant", content: "First answer" },
  { role: "user", content: "Plan three days in Lisbon, please" },
];
const promptTokens = Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / 4);

async function collect(events: AsyncIterable<ModelStreamEvent>): Promise<ModelStreamEvent[]> {
  const out: ModelStreamEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe("OfflineProvider", () => {
  const provider = new OfflineProvider();

  it("is named offline and says plainly that it is no model, echoing the last user message", async () => {
    expect(provider.name).toBe("offline");
    const { text, usage } = await provider.complete({ model: "gpt-4o-mini", messages });
    expect(text).toBe("[offline model — set OPENAI_BASE_URL to use a real one] You said: Plan three days in Lisbon, please");
    expect(text).toMatch(/offline/);
    expect(usage).toEqual({ promptTokens, completionTokens: Math.ceil(text.length / 4), totalTokens: promptTokens + Math.ceil(text.length / 4) });
  });

  it("streams word by word, then one done with the estimated usage", async () => {
    const events = await collect(provider.stream({ model: "m", messages }));
    const deltas = events.flatMap((e) => (e.type === "delta" ? [e.text] : []));
    const { text, usage } = await provider.complete({ model: "m", messages });
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.slice(0, 3)).toEqual(["[offline ", "model ", "— "]);
    expect(deltas.at(-1)).toBe("please");
    expect(deltas.join("")).toBe(text);
    expect(events.filter((e) => e.type === "done")).toEqual([{ type: "done", usage }]);
    expect(events.at(-1)?.type).toBe("done");
  });

  it("answers even without a user message", async () => {
    const { text } = await provider.complete({ model: "m", messages: [{ role: "system", content: "Be nice." }] });
    expect(text).toBe("[offline model — set OPENAI_BASE_URL to use a real one] You said nothing.");
  });

  it("stops promptly with an AbortError when aborted mid-stream", async () => {
    const slow = new OfflineProvider({ tokenDelayMs: 1000 });
    const controller = new AbortController();
    const seen: string[] = [];
    const started = Date.now();
    let error: any;
    const iterating = (async () => {
      for await (const event of slow.stream({ model: "m", messages, signal: controller.signal })) {
        if (event.type === "delta") seen.push(event.text);
      }
    })().catch((err) => (error = err));
    setTimeout(() => controller.abort(), 50);
    await iterating;
    expect(error?.name).toBe("AbortError");
    expect(seen).toEqual([]);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it("an abort between deltas ends the stream with an AbortError", async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    let error: any;
    try {
      for await (const event of provider.stream({ model: "m", messages, signal: controller.signal })) {
        if (event.type === "delta") seen.push(event.text);
        if (seen.length === 2) controller.abort(new Error("client went away"));
      }
    } catch (err) {
      error = err;
    }
    expect(error?.name).toBe("AbortError");
    expect(seen).toHaveLength(2);
  });

  it("an already-aborted signal fails at once", async () => {
    const signal = AbortSignal.abort();
    await expect(collect(provider.stream({ model: "m", messages, signal }))).rejects.toMatchObject({ name: "AbortError" });
    await expect(provider.complete({ model: "m", messages, signal })).rejects.toMatchObject({ name: "AbortError" });
  });
});

describe("createModelProvider", () => {
  let fake: FakeOpenAI | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it("is offline when nothing is configured", () => {
    const provider = createModelProvider({});
    expect(provider).toBeInstanceOf(OfflineProvider);
    expect(provider.name).toBe("offline");
  });

  it("is OpenAI-compatible when OPENAI_BASE_URL is set, with the API key", async () => {
    fake = await startFakeOpenAI();
    const provider = createModelProvider({ openaiBaseUrl: fake.baseUrl, openaiApiKey: "sk-configured" });
    expect(provider).toBeInstanceOf(OpenAICompatibleProvider);
    expect(provider.name).toBe("openai-compatible");
    expect((await provider.complete({ model: "gpt-4o-mini", messages })).text).toBe("Echo: Plan three days in Lisbon, please");
    expect(fake.requests[0].headers.authorization).toBe("Bearer sk-configured");
  });
});
