// One espeak-ng worker thread shared by every request, started on first use. A request's text goes
// to the worker a sentence or so at a time, taking turns with the other requests, so a long text
// neither holds up a short one nor runs far ahead of a consumer that stopped reading; an abort stops
// the sentence being spoken at once (a shared flag espeak's callback reads) and drops the rest.
import { Worker } from "node:worker_threads";
import { AppError } from "../../core/errors.js";
import { abortError } from "../abort.js";
import { BITRATE_KBPS, libraryPaths, SAMPLE_RATE, WORKER_SOURCE } from "./espeak-worker.js";

/** MP3 bytes a request may have waiting for its reader before its next sentence waits too. */
const HIGH_WATER_BYTES = 256 * 1024;
/** The worker posts audio once this much is encoded (and at each sentence's end). */
const CHUNK_BYTES = 2 * 1024;
/** Longest piece of text spoken in one go (a longer sentence is cut between words). */
const MAX_PIECE_CHARS = 240;
/** Short sentences share a piece up to this length; a request arriving meanwhile waits for at most one piece. */
const MERGE_CHARS = 100;

type Job = {
  id: number;
  voice: string;
  pieces: string[];
  abort: SharedArrayBuffer;
  chunks: Buffer[];
  buffered: number;
  /** Audio produced so far, in samples. */
  samples: number;
  done: boolean;
  error?: unknown;
  wake?: () => void;
};

type WorkerMessage =
  | { type: "ready" }
  | { type: "audio"; id: number; bytes: Uint8Array }
  | { type: "piece"; id: number; samples: number; aborted: boolean }
  | { type: "failed"; id: number; message: string }
  | { type: "fatal"; message: string };

export class EspeakEngine {
  private worker?: Worker;
  private ready?: Promise<void>;
  private readonly jobs = new Map<number, Job>();
  /** Jobs waiting for their next turn, in order (the one the worker has is not among them). */
  private queue: Job[] = [];
  private busy?: Job;
  private nextId = 1;
  private closed = false;

  constructor(private readonly fallbackVoice: string) {}

  /** MP3 chunks for `text` in `voice` (an espeak identifier), as the worker encodes them. */
  async *speak(text: string, voice: string, signal?: AbortSignal): AsyncGenerator<Buffer, void, undefined> {
    if (signal?.aborted) throw abortError(signal);
    const pieces = speechPieces(text);
    if (pieces.length === 0) return;
    const job: Job = { id: this.nextId++, voice, pieces, abort: new SharedArrayBuffer(4), chunks: [], buffered: 0, samples: 0, done: false };
    const wake = () => job.wake?.();
    signal?.addEventListener("abort", wake);
    try {
      await this.whenReady(signal);
      this.jobs.set(job.id, job);
      this.queue.push(job);
      this.pump();
      for (;;) {
        if (signal?.aborted) throw abortError(signal);
        const chunk = job.chunks.shift();
        if (chunk) {
          job.buffered -= chunk.length;
          this.pump();
          yield chunk;
        } else if (job.error) throw job.error;
        else if (job.done) return;
        else await new Promise<void>((resolve) => (job.wake = resolve));
      }
    } finally {
      signal?.removeEventListener("abort", wake);
      this.cancel(job);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.reset(new AppError("completion_request_error", 400, "The embedded speech engine was closed"));
    await worker?.terminate();
  }

  private whenReady(signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new AppError("completion_request_error", 400, "The embedded speech engine is closed"));
    this.ready ??= this.start();
    if (!signal) return this.ready;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(abortError(signal));
      signal.addEventListener("abort", onAbort, { once: true });
      this.ready!.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  private start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { paths: libraryPaths(), sampleRate: SAMPLE_RATE, kbps: BITRATE_KBPS, chunkBytes: CHUNK_BYTES, fallbackVoice: this.fallbackVoice },
      });
      this.worker = worker;
      const fail = (message: string) => {
        const error = new AppError("completion_request_error", 400, `[embedded espeak-ng] ${message}`);
        reject(error);
        if (this.worker === worker) {
          this.reset(error);
          void worker.terminate();
        }
      };
      worker.on("message", (message: WorkerMessage) => {
        if (message.type === "ready") resolve();
        else if (message.type === "fatal") fail(`the engine did not start: ${message.message}`);
        else this.receive(message);
      });
      worker.on("error", (err) => fail(`the engine failed: ${err.message}`));
      worker.on("exit", (code) => fail(`the engine stopped (exit code ${code})`));
    });
  }

  private receive(message: Exclude<WorkerMessage, { type: "ready" | "fatal" }>): void {
    const job = this.jobs.get(message.id);
    if (message.type === "audio") {
      if (!job) return;
      const chunk = Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength);
      job.chunks.push(chunk);
      job.buffered += chunk.length;
    } else {
      this.busy = undefined;
      if (job && message.type === "failed") job.error = new AppError("completion_request_error", 400, `[embedded espeak-ng] ${message.message}`);
      if (job && message.type === "piece") {
        job.samples += message.samples;
        if (!message.aborted && job.pieces.length === 0) job.done = true;
      }
      if (job && !job.done && !job.error && job.pieces.length > 0) this.queue.push(job);
      this.pump();
    }
    job?.wake?.();
  }

  /** Send the worker its next piece: the first waiting job with room for its audio. */
  private pump(): void {
    if (this.busy || !this.worker || this.closed) return;
    const next = this.queue.findIndex((job) => job.pieces.length > 0 && job.buffered < HIGH_WATER_BYTES && !job.error);
    if (next < 0) return;
    // Out of the queue while the worker has it; back at its end after (behind whoever came meanwhile).
    const [job] = this.queue.splice(next, 1);
    const text = job.pieces.shift()!;
    this.busy = job;
    this.worker.postMessage({ type: "speak", id: job.id, text, voice: job.voice, last: job.pieces.length === 0, abort: job.abort });
  }

  /** The request is over (read to its end, failed, aborted, or left): stop its speech and forget it. */
  private cancel(job: Job): void {
    if (!this.jobs.delete(job.id)) return;
    this.queue = this.queue.filter((j) => j !== job);
    if (!job.done) {
      Atomics.store(new Int32Array(job.abort), 0, 1);
      this.worker?.postMessage({ type: "drop", id: job.id });
    }
  }

  /** The worker is gone: fail what waits on it; the next request starts another (unless closed). */
  private reset(error: AppError): void {
    this.worker = undefined;
    this.ready = undefined;
    this.busy = undefined;
    for (const job of this.jobs.values()) {
      // A finished job's audio is all there: its reader still gets it.
      if (!job.done) job.error ??= error;
      job.wake?.();
    }
    this.jobs.clear();
    this.queue = [];
  }
}

/**
 * The text in pieces: whole sentences (short ones together up to MERGE_CHARS; one longer than
 * MAX_PIECE_CHARS cut between words), markup characters escaped: espeak reads its input as SSML.
 */
export function speechPieces(text: string): string[] {
  // A sentence ends at . ! ? before a space (not inside 3.14), at 。！？, or at a line's end.
  const sentences = text.match(/\S[\s\S]*?(?:[.!?]+(?=\s|$)|[。！？]+|\n|$)\s*/g) ?? [];
  const pieces: string[] = [];
  let current = "";
  const flush = () => {
    if (current.trim()) pieces.push(escapeSsml(current.trim()));
    current = "";
  };
  for (const sentence of sentences) {
    if (current && current.length + sentence.length > MERGE_CHARS) flush();
    if (sentence.length <= MAX_PIECE_CHARS) {
      current += sentence;
      continue;
    }
    for (const word of sentence.split(/(?<=\s)/)) {
      if (current.length + word.length > MAX_PIECE_CHARS) flush();
      // A "word" longer than a piece (a URL, a run of symbols) is cut where it must be.
      for (let at = 0; at < word.length; at += MAX_PIECE_CHARS) {
        current += word.slice(at, at + MAX_PIECE_CHARS);
        if (current.length >= MAX_PIECE_CHARS) flush();
      }
    }
  }
  flush();
  return pieces;
}

function escapeSsml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
