// The OpenAI-compatible provider against real HTTP servers: the fake OpenAI, and small raw servers
// for wire-level oddities (split reads, CRLF, comments, missing usage, broken streams).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AppError } from "../../src/core/errors.js";
import { OpenAICompatibleProvider } from "../../src/providers/model/openai-compatible.js";
import type { ChatMessage, ModelProvider, ModelRequest, ModelStreamEvent } from "../../src/core/ports/model.js";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";

const messages: ChatMessage[] = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "Hello there, model" },
];
const promptChars = "You are terse.".length + "Hello there, model".length; // 32

async function collect(provider: ModelProvider, request: Partial<ModelRequest> = {}): Promise<ModelStreamEvent[]> {
  const events: ModelStreamEvent[] = [];
  for await (const event of provider.stream({ model: "gpt-4o-mini", messages, ...request })) events.push(event);
  return events;
}

const deltas = (events: ModelStreamEvent[]) => events.flatMap((e) => (e.type === "delta" ? [e.text] : []));

/** Runs `fn` and returns what it threw. */
async function caught(fn: () => Promise<unknown>): Promise<any> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a failure");
}

/** A bare node:http server; `handler` writes the raw response. */
async function rawServer(handler: http.RequestListener, onConnection?: () => void): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  if (onConnection) server.on("connection", onConnection);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes `pieces` (strings or raw bytes) as separate TCP writes, a pause between them. */
async function writeSlowly(res: http.ServerResponse, pieces: (string | Buffer)[]): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.flushHeaders();
  for (const piece of pieces) {
    await wait(15);
    res.write(piece);
  }
  res.end();
}

describe("OpenAICompatibleProvider against the fake OpenAI", () => {
  let fake: FakeOpenAI;
  let provider: OpenAICompatibleProvider;
  beforeEach(async () => {
    fake = await startFakeOpenAI();
    provider = new OpenAICompatibleProvider({ baseUrl: fake.baseUrl });
  });
  afterEach(() => fake.close());

  it("streams the deltas in order, then one done with the server's usage", async () => {
    fake.setReply(() => "The quick brown fox jumps");
    const events = await collect(provider);
    expect(deltas(events)).toEqual(["The ", "quick ", "brown ", "fox ", "jumps"]);
    expect(deltas(events).join("")).toBe("The quick brown fox jumps");
    expect(events.filter((e) => e.type === "done")).toHaveLength(1);
    expect(events.at(-1)).toEqual({
      type: "done",
      usage: { promptTokens: Math.ceil(promptChars / 4), completionTokens: 5, totalTokens: Math.ceil(promptChars / 4) + 5 },
    });

    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req.path).toBe("/v1/chat/completions");
    expect(req.body).toEqual({ model: "gpt-4o-mini", messages, stream: true, stream_options: { include_usage: true } });
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.completed).toBe(true);
    expect(req.aborted).toBe(false);
  });

  it("echoes the last user message by default", async () => {
    const events = await collect(provider);
    expect(deltas(events).join("")).toBe("Echo: Hello there, model");
  });

  it("tolerates a trailing slash on the base URL", async () => {
    const slashed = new OpenAICompatibleProvider({ baseUrl: `${fake.baseUrl}//` });
    expect((await slashed.complete({ model: "m", messages })).text).toBe("Echo: Hello there, model");
    expect(fake.requests[0].path).toBe("/v1/chat/completions");
  });

  it("maps Dify's completion_params and ignores unknown keys", async () => {
    await collect(provider, {
      model: "my-model",
      params: {
        temperature: 0.2,
        top_p: "0.9",
        max_tokens: 512,
        presence_penalty: 0.5,
        frequency_penalty: -0.5,
        stop: ["\n\nHuman:", ""],
        seed: 42,
        response_format: "json_object",
        mode: "chat",
        unknown_thing: true,
        echo: true,
      },
    });
    expect(fake.requests[0].body).toEqual({
      model: "my-model",
      messages,
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 512,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      stop: ["\n\nHuman:"],
      seed: 42,
      response_format: { type: "json_object" },
    });
  });

  it("drops an empty stop list and unusable values", async () => {
    await provider.complete({ model: "m", messages, params: { stop: [], temperature: "warm", max_tokens: null, seed: undefined } });
    expect(fake.requests[0].body).toEqual({ model: "m", messages, stream: false });
  });

  it("sends a json_schema response_format with its schema, and an object response_format as it is", async () => {
    const schema = { name: "answer", schema: { type: "object", properties: { a: { type: "string" } } }, strict: true };
    await provider.complete({ model: "m", messages, params: { response_format: "json_schema", json_schema: JSON.stringify(schema) } });
    expect(fake.requests[0].body.response_format).toEqual({ type: "json_schema", json_schema: schema });
    await provider.complete({ model: "m", messages, params: { response_format: { type: "json_object" } } });
    expect(fake.requests[1].body.response_format).toEqual({ type: "json_object" });
    const err = await caught(() => provider.complete({ model: "m", messages, params: { response_format: "json_schema" } }));
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe("completion_request_error");
    expect(fake.requests).toHaveLength(2);
  });

  it("sends Authorization only when an API key is set", async () => {
    await collect(new OpenAICompatibleProvider({ baseUrl: fake.baseUrl, apiKey: "sk-test-123" }));
    await collect(provider);
    await collect(new OpenAICompatibleProvider({ baseUrl: fake.baseUrl, apiKey: "" }));
    expect(fake.requests[0].headers.authorization).toBe("Bearer sk-test-123");
    expect(fake.requests[1].headers).not.toHaveProperty("authorization");
    expect(fake.requests[2].headers).not.toHaveProperty("authorization");
  });

  it("complete() makes one blocking request and returns the text and usage", async () => {
    fake.setReply(() => "A whole answer at once");
    const result = await provider.complete({ model: "gpt-4o-mini", messages, params: { temperature: 1 } });
    expect(result).toEqual({
      text: "A whole answer at once",
      usage: { promptTokens: 8, completionTokens: 5, totalTokens: 13 },
    });
    expect(fake.requests[0].body).toEqual({ model: "gpt-4o-mini", messages, stream: false, temperature: 1 });
    expect(fake.requests[0].headers.accept).toBe("application/json");
  });

  describe("upstream errors become Dify's model errors", () => {
    const cases = [
      { status: 401, message: "Incorrect API key provided: sk-bad.", code: "provider_not_initialize" },
      { status: 403, message: "You are not allowed to use this model.", code: "provider_not_initialize" },
      { status: 404, message: "The model `gpt-9` does not exist or you do not have access to it.", code: "model_currently_not_support" },
      { status: 400, message: "The model `gpt-9` does not exist.", code: "model_currently_not_support" },
      { status: 429, message: "Rate limit reached", code: "completion_request_error" },
      { status: 500, message: "The server had an error while processing your request.", code: "completion_request_error" },
      { status: 400, message: "max_tokens is too large", code: "completion_request_error" },
    ];
    for (const { status, message, code } of cases) {
      for (const mode of ["stream", "complete"] as const) {
        it(`${status} "${message}" → ${code} (${mode})`, async () => {
          fake.setReply(() => ({ error: { status, message } }));
          const err = await caught(() => (mode === "stream" ? collect(provider) : provider.complete({ model: "m", messages })));
          expect(err).toBeInstanceOf(AppError);
          expect(err).toMatchObject({ code, status: 400, message: `[openai-compatible] Error code: ${status} - ${message}` });
        });
      }
    }

    it("falls back to the status text when the body carries no message", async () => {
      const raw = await rawServer((_req, res) => {
        res.writeHead(502, { "content-type": "text/html" });
        res.end("<html><body>Bad gateway</body></html>");
      });
      try {
        const err = await caught(() => collect(new OpenAICompatibleProvider({ baseUrl: raw.baseUrl })));
        expect(err).toMatchObject({ code: "completion_request_error", status: 400, message: "[openai-compatible] Error code: 502 - Bad Gateway" });
      } finally {
        await raw.close();
      }
    });
  });

  it("connection refused → completion_request_error", async () => {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const dead = new OpenAICompatibleProvider({ baseUrl: `http://127.0.0.1:${port}/v1` });
    for (const run of [() => collect(dead), () => dead.complete({ model: "m", messages })]) {
      const err = await caught(run);
      expect(err).toBeInstanceOf(AppError);
      expect(err.code).toBe("completion_request_error");
      expect(err.message).toMatch(/^\[openai-compatible\] Connection error: .*ECONNREFUSED/);
    }
  });

  it("a stalled stream times out → completion_request_error, and the upstream request is closed", async () => {
    fake.setTokenDelay(10_000);
    const quick = new OpenAICompatibleProvider({ baseUrl: fake.baseUrl, timeoutMs: 200 });
    const started = Date.now();
    const err = await caught(() => collect(quick));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: "completion_request_error", message: "[openai-compatible] Request timed out after 200 ms" });
    await vi.waitFor(() => expect(fake.requests[0].aborted).toBe(true), { timeout: 2000, interval: 10 });
  });

  it("the timeout is the idle gap between chunks, not the whole answer", async () => {
    fake.setReply(() => "one two three four five six");
    fake.setTokenDelay(60);
    const patient = new OpenAICompatibleProvider({ baseUrl: fake.baseUrl, timeoutMs: 250 });
    const events = await collect(patient); // ~360 ms in all
    expect(deltas(events).join("")).toBe("one two three four five six");
  });

  it("a slow consumer does not count against the timeout", async () => {
    fake.setReply(() => "one two three");
    const patient = new OpenAICompatibleProvider({ baseUrl: fake.baseUrl, timeoutMs: 100 });
    const seen: string[] = [];
    for await (const event of patient.stream({ model: "m", messages })) {
      if (event.type === "delta") seen.push(event.text);
      await wait(150);
    }
    expect(seen.join("")).toBe("one two three");
  });

  it("a stalled complete() times out", async () => {
    fake.setTokenDelay(10_000);
    const quick = new OpenAICompatibleProvider({ baseUrl: fake.baseUrl, timeoutMs: 200 });
    const err = await caught(() => quick.complete({ model: "m", messages }));
    expect(err).toMatchObject({ code: "completion_request_error", message: "[openai-compatible] Request timed out after 200 ms" });
    await vi.waitFor(() => expect(fake.requests[0].aborted).toBe(true), { timeout: 2000, interval: 10 });
  });

  it("aborting mid-stream throws an AbortError and closes the upstream connection", async () => {
    fake.setReply(() => "one two three four five six seven eight nine ten");
    fake.setTokenDelay(50);
    const controller = new AbortController();
    const seen: string[] = [];
    const err = await caught(async () => {
      for await (const event of provider.stream({ model: "m", messages, signal: controller.signal })) {
        if (event.type === "delta") seen.push(event.text);
        if (seen.length === 2) controller.abort();
      }
    });
    expect(err.name).toBe("AbortError");
    expect(err).not.toBeInstanceOf(AppError);
    expect(seen).toEqual(["one ", "two "]);
    await vi.waitFor(() => expect(fake.requests[0].aborted).toBe(true), { timeout: 2000, interval: 10 });
    expect(fake.requests[0].completed).toBe(false);
  });

  it("an abort with a custom reason still surfaces as an AbortError", async () => {
    fake.setTokenDelay(50);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("client went away")), 80);
    const err = await caught(() => collect(provider, { signal: controller.signal }));
    expect(err.name).toBe("AbortError");
    await vi.waitFor(() => expect(fake.requests[0].aborted).toBe(true), { timeout: 2000, interval: 10 });
  });

  it("aborting while waiting for the response headers cancels complete()", async () => {
    fake.setTokenDelay(1000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await caught(() => provider.complete({ model: "m", messages, signal: controller.signal }));
    expect(err.name).toBe("AbortError");
    await vi.waitFor(() => expect(fake.requests[0].aborted).toBe(true), { timeout: 2000, interval: 10 });
  });

  it("an already-aborted signal sends nothing", async () => {
    const signal = AbortSignal.abort();
    expect((await caught(() => collect(provider, { signal }))).name).toBe("AbortError");
    expect((await caught(() => provider.complete({ model: "m", messages, signal }))).name).toBe("AbortError");
    expect(fake.requests).toHaveLength(0);
  });

  it("leaving the loop early closes the upstream connection", async () => {
    fake.setReply(() => "one two three four five six seven eight nine ten");
    fake.setTokenDelay(30);
    for await (const event of provider.stream({ model: "m", messages })) {
      if (event.type === "delta") break;
    }
    await vi.waitFor(() => expect(fake.requests[0].aborted).toBe(true), { timeout: 2000, interval: 10 });
  });
});

describe("OpenAICompatibleProvider on the wire", () => {
  let server: { baseUrl: string; close(): Promise<void> } | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  let connections = 0;
  const serve = async (handler: http.RequestListener) => {
    connections = 0;
    server = await rawServer(handler, () => connections++);
    return new OpenAICompatibleProvider({ baseUrl: server.baseUrl, timeoutMs: 2000 });
  };
  const chunk = (content: string) => JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content }, finish_reason: null }] });

  it("parses split reads, CRLF, comments and other fields; estimates usage when none is sent", async () => {
    const utf8 = Buffer.from(`data: ${chunk(" wörld")}\n\n`);
    const split = utf8.indexOf(Buffer.from("ö")) + 1; // in the middle of the two-byte "ö"
    const provider = await serve((_req, res) =>
      void writeSlowly(res, [
        ": keep-alive\r\n\r\n",
        `data: {"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel`,
        `lo"},"finish_reason":null}]}\r`,
        "\n\r\n",
        utf8.subarray(0, split),
        utf8.subarray(split),
        "event: message\nid: 3\nretry: 1000\n",
        `data:${chunk("")}\n\n`,
        ": ping\n\n",
        `data: ${chunk("!")}\r\n\r\n`,
        `data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n`,
        "data: [DONE]\n\n",
      ]),
    );
    const events = await collect(provider);
    expect(deltas(events)).toEqual(["Hello", " wörld", "!"]);
    const completion = Math.ceil("Hello wörld!".length / 4);
    const prompt = Math.ceil(promptChars / 4);
    expect(events.at(-1)).toEqual({ type: "done", usage: { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion } });
    expect(events.filter((e) => e.type === "done")).toHaveLength(1);
  });

  it("accepts events without blank lines between them, and a stream that ends after finish_reason without [DONE]", async () => {
    const provider = await serve((_req, res) =>
      void writeSlowly(res, [`data: ${chunk("a")}\ndata: ${chunk("b")}\n`, `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n`]),
    );
    const events = await collect(provider);
    expect(deltas(events)).toEqual(["a", "b"]);
    expect(events.at(-1)?.type).toBe("done");
  });

  it("invalid JSON in the stream → completion_request_error", async () => {
    const provider = await serve((_req, res) => void writeSlowly(res, [`data: ${chunk("ok")}\n\n`, "data: {not json\n\n", "data: [DONE]\n\n"]));
    const seen: string[] = [];
    const err = await caught(async () => {
      for await (const event of provider.stream({ model: "m", messages })) if (event.type === "delta") seen.push(event.text);
    });
    expect(seen).toEqual(["ok"]);
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe("completion_request_error");
    expect(err.message).toMatch(/^\[openai-compatible\] Malformed stream/);
  });

  it("a stream that stops short → completion_request_error", async () => {
    const provider = await serve((_req, res) => void writeSlowly(res, [`data: ${chunk("half an ans")}\n\n`]));
    const err = await caught(() => collect(provider));
    expect(err).toMatchObject({ code: "completion_request_error", message: "[openai-compatible] Malformed stream: it ended before the answer was complete" });
  });

  it("a connection dropped mid-stream → completion_request_error", async () => {
    const provider = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${chunk("partial")}\n\n`);
      setTimeout(() => res.socket?.destroy(), 30);
    });
    const err = await caught(() => collect(provider));
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe("completion_request_error");
  });

  it("an error event inside the stream is mapped like an HTTP error", async () => {
    const provider = await serve((_req, res) =>
      void writeSlowly(res, [`data: ${JSON.stringify({ error: { message: "The model `x` does not exist.", type: "NotFoundError", code: 404 } })}\n\n`]),
    );
    const err = await caught(() => collect(provider));
    expect(err).toMatchObject({ code: "model_currently_not_support", message: "[openai-compatible] Error code: 404 - The model `x` does not exist." });
  });

  it("a JSON answer to a streaming request is streamed as one delta", async () => {
    const provider = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content: "all at once" }, finish_reason: "stop" }] }));
    });
    const events = await collect(provider);
    expect(events).toEqual([
      { type: "delta", text: "all at once" },
      { type: "done", usage: { promptTokens: 8, completionTokens: 3, totalTokens: 11 } },
    ]);
  });

  it("keeps the connection alive across streamed requests", async () => {
    const provider = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(`data: ${chunk("hi")}\n\ndata: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n`);
    });
    for (let i = 0; i < 6; i++) expect(deltas(await collect(provider))).toEqual(["hi"]);
    // undici may open a second socket while the first is being released; it does not open one per request.
    expect(connections).toBeLessThanOrEqual(2);
  });

  it("complete() estimates usage when the server sends none, and rejects a malformed body", async () => {
    let body = JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content: "12345678" } }] });
    const provider = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
    });
    expect(await provider.complete({ model: "m", messages })).toEqual({
      text: "12345678",
      usage: { promptTokens: 8, completionTokens: 2, totalTokens: 10 },
    });
    body = "{ nope";
    expect(await caught(() => provider.complete({ model: "m", messages }))).toMatchObject({ code: "completion_request_error" });
  });
});

describe("the fake OpenAI itself", () => {
  let fake: FakeOpenAI;
  beforeEach(async () => {
    fake = await startFakeOpenAI({ model: "fake-model" });
  });
  afterEach(() => fake.close());

  it("lists one model, answers unknown routes with OpenAI's 404 body, and records every request", async () => {
    const models = await fetch(`${fake.baseUrl}/models`).then((r) => r.json());
    expect(models).toMatchObject({ object: "list", data: [{ id: "fake-model", object: "model" }] });
    const missing = await fetch(`${fake.baseUrl}/embeddings`, { method: "POST", body: "{}" });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { type: "invalid_request_error", code: null } });
    expect(fake.requests.map((r) => `${r.method} ${r.path} ${r.completed}`)).toEqual(["GET /v1/models true", "POST /v1/embeddings true"]);
  });

  it("streams OpenAI's chunk format, and a usage chunk only when asked", async () => {
    const raw = async (body: object) => {
      const res = await fetch(`${fake.baseUrl}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi you" }], stream: true, ...body }),
      });
      expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
      return (await res.text()).split("\n\n").filter(Boolean).map((e) => e.replace(/^data: /, ""));
    };
    const plain = await raw({});
    expect(plain.at(-1)).toBe("[DONE]");
    const chunks = plain.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.map((c) => c.choices[0].delta)).toEqual([{ role: "assistant", content: "Echo: " }, { content: "hi " }, { content: "you" }, {}]);
    expect(chunks.at(-1).choices[0].finish_reason).toBe("stop");
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && !("usage" in c))).toBe(true);

    const withUsage = (await raw({ stream_options: { include_usage: true } })).slice(0, -1).map((e) => JSON.parse(e));
    expect(withUsage.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } });
  });

  it("answers a non-streaming request with a chat.completion and its usage", async () => {
    const res = await fetch(`${fake.baseUrl}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hello" }] }),
    });
    expect(await res.json()).toMatchObject({
      object: "chat.completion",
      model: "m",
      choices: [{ index: 0, message: { role: "assistant", content: "Echo: hello" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 },
    });
  });
});
