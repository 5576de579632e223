// A real HTTP server on 127.0.0.1 speaking OpenAI's chat-completions wire format, for tests and benchmarks.
//
//   const fake = await startFakeOpenAI();
//   new OpenAICompatibleProvider({ baseUrl: fake.baseUrl });   // http://127.0.0.1:PORT/v1
//   fake.setReply((body) => "Hello there");                    // or { error: { status: 429, message: "…" } }
//   fake.setTokenDelay(50);                                     // ms before each token (0: as fast as possible)
//   fake.requests[0].body / .headers / .aborted / .completed
//   await fake.requests[0].ended;                               // the response is over, written or cut off
//   await fake.close();
//
// Speech:
//   fake.setTranscription((upload) => "what was said");        // or a FakeError; upload: model, language, bytes…
//   fake.requests[0].upload                                    // { model, language, filename, mimeType, bytes, data }
//   await fake.uploadReceived(1000);                            // the upload streaming now has sent ≥ 1000 file bytes
//   fake.setSpeech({ audio, chunks: 4, chunkDelayMs: 20 });    // or { error: … }; default: silent MP3 frames
//
// Routes: POST /v1/chat/completions (streaming and not), GET /v1/models, POST /v1/audio/transcriptions
// (multipart), POST /v1/audio/speech (audio/mpeg in chunks); anything else is a 404.
import http from "node:http";
import type { AddressInfo } from "node:net";
import busboy from "busboy";

export type FakeError = { error: { status: number; message: string; type?: string } };
export type FakeReply = string | FakeError;
export type ReplyFn = (body: any) => FakeReply | Promise<FakeReply>;

/** What a POST /v1/audio/transcriptions carried. */
export type FakeUpload = {
  model?: string;
  language?: string;
  /** Every non-file field, as sent. */
  fields: Record<string, string>;
  filename?: string;
  mimeType?: string;
  /** File bytes received so far (grows while the upload streams in). */
  bytes: number;
  /** The file's bytes, once the upload is complete. */
  data?: Buffer;
};
export type TranscriptionFn = (upload: FakeUpload) => string | FakeError | Promise<string | FakeError>;
export type FakeSpeech = {
  /** The body to send, split into `chunks` writes. Default: silentMp3(40), about a second. */
  audio?: Buffer;
  chunks?: number;
  /** Milliseconds before each chunk. Default 0. */
  chunkDelayMs?: number;
  /** Answer this instead (e.g. a 401). */
  error?: FakeError["error"];
};

export type FakeRequest = {
  method: string;
  /** The request path, e.g. "/v1/chat/completions". */
  path: string;
  /** The parsed JSON body (undefined for a GET, the raw text when it was not JSON). */
  body: any;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** POST /v1/audio/transcriptions: the multipart fields and the file as it arrives. */
  upload?: FakeUpload;
  /** The client closed the connection before the response was fully written. */
  aborted: boolean;
  /** The response was fully written. */
  completed: boolean;
  /** Resolves when the response is over: fully written, or cut off by the client (see `aborted`). */
  ended: Promise<void>;
};

export type FakeOpenAIOptions = {
  reply?: ReplyFn;
  /** Milliseconds before each token (non-streaming: before the whole answer, tokens × delay). Default 0. */
  tokenDelayMs?: number;
  /** The model GET /v1/models lists. Default "gpt-4o-mini". */
  model?: string;
};

export type FakeOpenAI = {
  baseUrl: string;
  requests: FakeRequest[];
  setReply(fn: ReplyFn): void;
  setTokenDelay(ms: number): void;
  setTranscription(fn: TranscriptionFn): void;
  setSpeech(speech: FakeSpeech): void;
  /** Resolves once an upload in progress (or done) has sent at least `bytes` file bytes. */
  uploadReceived(bytes: number): Promise<void>;
  close(): Promise<void>;
};

/**
 * `frames` silent MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, stereo; 1152 samples, 417 bytes each):
 * real MP3 that any decoder plays as silence, 26 ms a frame.
 */
export function silentMp3(frames: number): Buffer {
  const frame = Buffer.alloc(417);
  frame.set([0xff, 0xfb, 0x90, 0x00]);
  return Buffer.concat(Array.from({ length: frames }, () => frame));
}

/** The default reply: `Echo: <content of the last user message>`. */
export const echoReply: ReplyFn = (body) => {
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
  const last = messages.findLast((m) => m?.role === "user");
  return `Echo: ${last ? contentText(last.content) : ""}`;
};

/** Words with their trailing whitespace; they concatenate back to the reply. */
export function splitTokens(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text === "" ? [] : [text]);
}

export async function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  let reply: ReplyFn = opts.reply ?? echoReply;
  let tokenDelay = Math.max(0, opts.tokenDelayMs ?? 0);
  const model = opts.model ?? "gpt-4o-mini";
  const requests: FakeRequest[] = [];
  let counter = 0;
  let transcription: TranscriptionFn = () => "Hello from the fake transcriber";
  let speech: FakeSpeech = {};
  const uploadWaiters: { bytes: number; resolve: () => void }[] = [];
  const uploadProgress = () => {
    const most = Math.max(0, ...requests.map((r) => r.upload?.bytes ?? 0));
    for (const w of uploadWaiters.splice(0)) {
      if (most >= w.bytes) w.resolve();
      else uploadWaiters.push(w);
    }
  };

  const server = http.createServer((req, res) => {
    let ended!: () => void;
    const record: FakeRequest = {
      method: req.method ?? "GET",
      path: (req.url ?? "/").split("?")[0],
      body: undefined,
      headers: flattenHeaders(req.headers),
      aborted: false,
      completed: false,
      ended: new Promise<void>((resolve) => (ended = resolve)),
    };
    requests.push(record);
    res.on("finish", () => {
      record.completed = true;
    });
    res.on("close", () => {
      if (!res.writableEnded) record.aborted = true;
      ended();
    });
    handle(req, res, record).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, `fake-openai: ${err instanceof Error ? err.message : String(err)}`, "server_error");
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, record: FakeRequest): Promise<void> {
    let closed = false;
    res.once("close", () => {
      closed = true;
    });
    if (record.method === "POST" && record.path === "/v1/audio/transcriptions") {
      return transcribe(req, res, record, () => closed);
    }
    const raw = await readBody(req);
    if (closed) return;
    if (record.method === "GET" && record.path === "/v1/models") {
      return sendJson(res, 200, { object: "list", data: [{ id: model, object: "model", created: 1700000000, owned_by: "fake-openai" }] });
    }
    if (record.method === "POST" && record.path === "/v1/audio/speech") {
      return speak(raw, res, record, () => closed);
    }
    if (record.method !== "POST" || record.path !== "/v1/chat/completions") {
      return sendError(res, 404, `Unknown request URL: ${record.method} ${record.path}`, "invalid_request_error");
    }
    let body: any;
    try {
      body = JSON.parse(raw);
    } catch {
      record.body = raw;
      return sendError(res, 400, "We could not parse the JSON body of your request.", "invalid_request_error");
    }
    record.body = body;

    const answer = await reply(body);
    if (typeof answer !== "string") {
      const { status, message, type } = answer.error;
      return sendError(res, status, message, type ?? (status >= 500 ? "server_error" : "invalid_request_error"));
    }

    const tokens = splitTokens(answer);
    const usage = {
      prompt_tokens: Math.ceil(promptChars(body) / 4),
      completion_tokens: tokens.length,
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const id = `chatcmpl-fake${++counter}`;
    const created = Math.floor(Date.now() / 1000);
    const modelName = typeof body.model === "string" ? body.model : model;

    if (body.stream !== true) {
      if (tokenDelay > 0) await sleep(tokenDelay * tokens.length, res);
      if (closed) return;
      return sendJson(res, 200, {
        id,
        object: "chat.completion",
        created,
        model: modelName,
        choices: [{ index: 0, message: { role: "assistant", content: answer }, logprobs: null, finish_reason: "stop" }],
        usage,
      });
    }

    const includeUsage = body.stream_options?.include_usage === true;
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" });
    res.flushHeaders();
    const send = (data: unknown) => res.write(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
    const chunk = (delta: Record<string, unknown>, finishReason: string | null) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model: modelName,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
    });

    // An empty reply still gets the role chunk.
    const pieces = tokens.length > 0 ? tokens : [""];
    for (let i = 0; i < pieces.length; i++) {
      if (tokenDelay > 0) await sleep(tokenDelay, res);
      if (closed) return;
      send(chunk(i === 0 ? { role: "assistant", content: pieces[i] } : { content: pieces[i] }, null));
    }
    send(chunk({}, "stop"));
    if (includeUsage) send({ id, object: "chat.completion.chunk", created, model: modelName, choices: [], usage });
    send("[DONE]");
    res.end();
  }

  async function transcribe(req: http.IncomingMessage, res: http.ServerResponse, record: FakeRequest, closed: () => boolean): Promise<void> {
    const upload: FakeUpload = { fields: {}, bytes: 0 };
    record.upload = upload;
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers });
    } catch (err) {
      req.resume();
      return sendError(res, 400, `fake-openai: ${(err as Error).message}`, "invalid_request_error");
    }
    const parsed = new Promise<void>((resolve, reject) => {
      const chunks: Buffer[] = [];
      parser.on("field", (name, value) => {
        upload.fields[name] = value;
        if (name === "model") upload.model = value;
        if (name === "language") upload.language = value;
      });
      parser.on("file", (_name, file, info) => {
        upload.filename = info.filename;
        upload.mimeType = info.mimeType;
        file.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          upload.bytes += chunk.length;
          uploadProgress();
        });
      });
      parser.on("close", () => {
        if (upload.filename !== undefined) upload.data = Buffer.concat(chunks);
        resolve();
      });
      parser.on("error", reject);
      req.on("close", () => (req.complete ? undefined : reject(new Error("the upload was cut off"))));
    });
    req.pipe(parser);
    try {
      await parsed;
    } catch {
      if (!closed()) sendError(res, 400, "fake-openai: malformed multipart body", "invalid_request_error");
      return;
    }
    if (closed()) return;
    if (upload.data === undefined) return sendError(res, 400, "fake-openai: no file part", "invalid_request_error");
    const answer = await transcription(upload);
    if (typeof answer !== "string") return sendError(res, answer.error.status, answer.error.message, answer.error.type ?? "invalid_request_error");
    sendJson(res, 200, { text: answer });
  }

  async function speak(raw: string, res: http.ServerResponse, record: FakeRequest, closed: () => boolean): Promise<void> {
    try {
      record.body = JSON.parse(raw);
    } catch {
      record.body = raw;
      return sendError(res, 400, "We could not parse the JSON body of your request.", "invalid_request_error");
    }
    const { error, chunks = 4, chunkDelayMs = 0 } = speech;
    if (error) return sendError(res, error.status, error.message, error.type ?? "invalid_request_error");
    const audio = speech.audio ?? silentMp3(40);
    res.writeHead(200, { "content-type": "audio/mpeg", "transfer-encoding": "chunked" });
    res.flushHeaders();
    const size = Math.ceil(audio.length / Math.max(1, chunks));
    for (let at = 0; at < audio.length; at += size) {
      if (chunkDelayMs > 0) await sleep(chunkDelayMs, res);
      if (closed()) return;
      res.write(audio.subarray(at, at + size));
    }
    res.end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    setReply(fn) {
      reply = fn;
    },
    setTokenDelay(ms) {
      tokenDelay = Math.max(0, ms);
    },
    setTranscription(fn) {
      transcription = fn;
    },
    setSpeech(value) {
      speech = value;
    },
    uploadReceived(bytes) {
      return new Promise<void>((resolve) => {
        uploadWaiters.push({ bytes, resolve });
        uploadProgress();
      });
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: http.ServerResponse, status: number, message: string, type: string): void {
  sendJson(res, status, { error: { message, type, code: null } });
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
    // A client that goes away mid-body: settle anyway (the caller sees the response closed).
    req.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

/** Resolves after `ms`, or as soon as the connection closes. */
function sleep(ms: number, res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off("close", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.once("close", done);
  });
}

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  // Multi-part content: [{ type: "text", text }, …]
  if (Array.isArray(content)) return content.map((p) => (typeof p?.text === "string" ? p.text : "")).join("");
  return "";
}

function promptChars(body: any): number {
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
  return messages.reduce((sum, m) => sum + contentText(m?.content).length, 0);
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}
