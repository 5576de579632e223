// Python code nodes run in Pyodide inside child processes (see python-worker-source.ts for what each
// child locks down). A small pool of warm children is kept: loading Pyodide takes a couple of
// seconds, a run in a warm child about a millisecond. A run that passes its deadline gets its child
// killed (SIGKILL) and replaced; so does a child whose interpreter failed or that outgrew the memory
// a later run allows.

import { spawn, type ChildProcess } from "node:child_process";
import { realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import {
  MEMORY_MESSAGE,
  NO_MAIN_MESSAGE,
  codeExecutionError,
  MAX_OUTPUT_BYTES,
  inputsToJson,
  timeoutMessage,
} from "./errors.js";
import { PYTHON_PRELUDE } from "./python-prelude.js";
import { PYTHON_WORKER_SOURCE } from "./python-worker-source.js";

export interface PythonPoolOptions {
  /** Warm workers kept (default 1). */
  size?: number;
  /** Time allowed for a worker to load Pyodide (default 60 s). */
  startupTimeoutMs?: number;
  /** V8 heap cap of each worker, for the JSON that crosses the boundary (default 512 MB). */
  workerHeapMb?: number;
}

export interface PyRunRequest {
  code: string;
  inputs: Record<string, unknown>;
  timeoutMs: number;
  memoryMb: number;
}

export interface PythonPoolStats {
  /** Cold start of each worker that became ready, in ms (spawn to ready, as seen by the parent). */
  coldStartsMs: number[];
  workersStarted: number;
  workersKilled: number;
}

type Envelope =
  | { status: "ok"; output: unknown }
  | { status: "error"; kind: "no_main" }
  | { status: "error"; kind: "not_dict"; type: string }
  | { status: "error"; kind: "output" | "user"; message: string }
  | { status: "error"; kind: "memory" | "too_large" };

interface ResultMessage {
  type: "result";
  id: number;
  envelope?: string;
  fatal?: string;
  memoryExceeded?: boolean;
  memoryBytes?: number;
}

interface Pending {
  id: number;
  timer: NodeJS.Timeout;
  resolve: (value: Record<string, unknown>) => void;
  reject: (error: Error) => void;
  timeoutMs: number;
}

let pyodideDirCache: string | undefined;
export function pyodideDir(): string {
  pyodideDirCache ??= realpathSync(dirname(createRequire(import.meta.url).resolve("pyodide/package.json")));
  return pyodideDirCache;
}

function permissionFlag(): string {
  const [major, minor] = process.versions.node.split(".").map(Number);
  return major > 22 || (major === 22 && minor >= 13) ? "--permission" : "--experimental-permission";
}

/**
 * Node flags of a worker: the permission model with reads only under the pyodide package (no
 * --allow-fs-write, --allow-child-process, --allow-worker, --allow-addons, --allow-wasi), no code
 * generation from strings, and a V8 heap cap.
 */
export function workerNodeFlags(heapMb = 512): string[] {
  return [
    permissionFlag(),
    `--allow-fs-read=${pyodideDir()}/`,
    "--disallow-code-generation-from-strings",
    `--max-old-space-size=${heapMb}`,
    "--no-warnings",
  ];
}

class Worker {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  state: "starting" | "idle" | "busy" | "dead" = "starting";
  /** Size of the interpreter's wasm memory: at start-up, and now (it only grows). */
  baselineBytes = 0;
  memoryBytes = 0;
  /** Set when the pool is closing: in-flight runs then fail with "closed", not "crashed". */
  closing = false;
  private pending: Pending | undefined;
  private stderrTail = "";
  private nextId = 1;

  constructor(
    private readonly options: Required<PythonPoolOptions>,
    private readonly onExit: (worker: Worker) => void,
    private readonly onReady: (worker: Worker, coldStartMs: number) => void,
  ) {
    const started = performance.now();
    const dir = pyodideDir();
    this.child = spawn(
      process.execPath,
      [
        ...workerNodeFlags(options.workerHeapMb),
        "--input-type=module",
        "-e",
        PYTHON_WORKER_SOURCE,
        JSON.stringify({ pyodideDir: dir, prelude: PYTHON_PRELUDE, maxOutputBytes: MAX_OUTPUT_BYTES }),
      ],
      // An empty environment: nothing of the host's (database URLs, keys) reaches the worker.
      { stdio: ["ignore", "ignore", "pipe", "ipc"], env: {}, serialization: "json", windowsHide: true },
    );
    this.child.stderr?.setEncoding("utf8");
    this.child.stderr?.on("data", (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4000);
    });
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(codeExecutionError(`python sandbox did not start within ${options.startupTimeoutMs} ms`));
        this.kill();
      }, options.startupTimeoutMs);
      timer.unref();
      this.child.on("message", (message: unknown) => {
        if (this.state === "starting" && isObject(message) && message.type === "ready") {
          clearTimeout(timer);
          this.memoryBytes = this.baselineBytes = Number(message.memoryBytes) || 0;
          this.state = "idle";
          this.setRef(false);
          this.onReady(this, performance.now() - started);
          resolve();
          return;
        }
        this.onMessage(message);
      });
      this.child.on("exit", (code, signal) => {
        clearTimeout(timer);
        const wasStarting = this.state === "starting";
        this.state = "dead";
        if (wasStarting) {
          reject(codeExecutionError(`python sandbox failed to start (${signal ?? `exit ${code}`}): ${lastLines(this.stderrTail)}`));
        }
        this.failPending(this.crashError());
        this.onExit(this);
      });
      this.child.on("error", (err) => {
        clearTimeout(timer);
        reject(codeExecutionError(`python sandbox failed to start: ${err.message}`));
      });
    });
    this.ready.catch(() => {});
  }

  run(request: PyRunRequest, inputsJson: string): Promise<Record<string, unknown>> {
    this.state = "busy";
    this.setRef(true);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Past the deadline: the only reliable stop for a wasm loop is to kill the process.
        this.failPending(codeExecutionError(timeoutMessage(request.timeoutMs)));
        this.kill();
      }, request.timeoutMs);
      this.pending = { id, timer, resolve, reject, timeoutMs: request.timeoutMs };
      this.child.send(
        { type: "run", id, code: request.code, inputs: inputsJson, memoryLimitBytes: request.memoryMb * 1024 * 1024 },
        (err) => {
          if (err) {
            this.failPending(codeExecutionError(`python sandbox is unavailable: ${err.message}`));
            this.kill();
          }
        },
      );
    });
  }

  /** An idle worker does not keep the host process alive (a forgotten close() must not hang it). */
  private setRef(ref: boolean): void {
    const channel = this.child.channel as { ref?: () => void; unref?: () => void } | undefined | null;
    const stderr = this.child.stderr as { ref?: () => void; unref?: () => void } | null;
    if (ref) {
      this.child.ref();
      channel?.ref?.();
      stderr?.ref?.();
    } else {
      this.child.unref();
      channel?.unref?.();
      stderr?.unref?.();
    }
  }

  kill(): void {
    if (this.state !== "dead") this.state = "dead";
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }

  private onMessage(message: unknown): void {
    const pending = this.pending;
    if (!isObject(message) || message.type !== "result" || !pending || message.id !== pending.id) return;
    const result = message as unknown as ResultMessage;
    this.pending = undefined;
    clearTimeout(pending.timer);
    if (this.state === "busy") this.state = "idle";
    this.setRef(false);
    if (typeof result.memoryBytes === "number") this.memoryBytes = result.memoryBytes;
    if (typeof result.fatal === "string") {
      // The interpreter died; the child exits by itself, and is replaced.
      this.state = "dead";
      pending.reject(codeExecutionError(result.memoryExceeded ? MEMORY_MESSAGE : `python sandbox failure: ${result.fatal}`));
      this.kill();
      return;
    }
    try {
      pending.resolve(interpret(String(result.envelope), result.memoryExceeded === true));
    } catch (err) {
      pending.reject(err as Error);
    }
  }

  private failPending(error: Error): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    clearTimeout(pending.timer);
    pending.reject(error);
  }

  private crashError(): Error {
    if (this.closing) return codeExecutionError("code sandbox is closed");
    if (/heap limit|out of memory|allocation failed/i.test(this.stderrTail)) return codeExecutionError(MEMORY_MESSAGE);
    return codeExecutionError(`python sandbox crashed: ${lastLines(this.stderrTail) || "no output"}`);
  }
}

function interpret(envelopeJson: string, memoryExceeded: boolean): Record<string, unknown> {
  let envelope: Envelope;
  try {
    envelope = JSON.parse(envelopeJson) as Envelope;
  } catch {
    throw codeExecutionError("python sandbox returned a malformed result");
  }
  if (envelope.status === "ok") {
    const output = envelope.output;
    if (output === null || typeof output !== "object" || Array.isArray(output)) throw codeExecutionError("main must return a dict");
    return output as Record<string, unknown>;
  }
  if (memoryExceeded || envelope.kind === "memory") throw codeExecutionError(MEMORY_MESSAGE);
  switch (envelope.kind) {
    case "too_large":
      throw codeExecutionError(`output too large (over ${MAX_OUTPUT_BYTES} bytes of JSON)`);
    case "no_main":
      throw codeExecutionError(NO_MAIN_MESSAGE);
    case "not_dict":
      throw codeExecutionError(`main must return a dict, got ${envelope.type}`);
    case "output":
      throw codeExecutionError(`main must return a dict of JSON-serialisable values: ${envelope.message}`);
    case "user":
      throw codeExecutionError(envelope.message);
    default:
      throw codeExecutionError(MEMORY_MESSAGE);
  }
}

export class PythonPool {
  private readonly options: Required<PythonPoolOptions>;
  private readonly workers = new Set<Worker>();
  private readonly waiters: Array<{ resolve: (worker: Worker) => void; reject: (error: Error) => void }> = [];
  private closed = false;
  private started = false;
  readonly stats: PythonPoolStats = { coldStartsMs: [], workersStarted: 0, workersKilled: 0 };

  constructor(options: PythonPoolOptions = {}) {
    this.options = {
      size: Math.max(1, Math.floor(options.size ?? 1)),
      startupTimeoutMs: options.startupTimeoutMs ?? 60_000,
      workerHeapMb: options.workerHeapMb ?? 512,
    };
  }

  async run(request: PyRunRequest): Promise<Record<string, unknown>> {
    if (this.closed) throw codeExecutionError("code sandbox is closed");
    const inputsJson = inputsToJson(request.inputs);
    const worker = await this.acquire(request.memoryMb * 1024 * 1024);
    try {
      return await worker.run(request, inputsJson);
    } finally {
      this.release(worker);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(codeExecutionError("code sandbox is closed"));
    const exits = [...this.workers].map(
      (worker) =>
        new Promise<void>((resolve) => {
          worker.closing = true;
          if (worker.child.exitCode !== null || worker.child.signalCode !== null) return resolve();
          worker.child.once("exit", () => resolve());
          worker.kill();
        }),
    );
    this.workers.clear();
    await Promise.all(exits);
  }

  private spawnWorker(): Worker {
    this.stats.workersStarted++;
    const worker = new Worker(
      this.options,
      (dead) => this.onWorkerExit(dead),
      (_ready, coldStartMs) => {
        this.stats.coldStartsMs.push(coldStartMs);
        this.dispatch();
      },
    );
    this.workers.add(worker);
    worker.ready.catch((error: Error) => {
      // A worker that cannot start fails whoever is waiting, rather than respawning in a loop.
      this.workers.delete(worker);
      if (![...this.workers].some((w) => w.state !== "dead")) {
        for (const waiter of this.waiters.splice(0)) waiter.reject(error);
      }
    });
    return worker;
  }

  private fill(): void {
    if (this.closed) return;
    let live = [...this.workers].filter((w) => w.state !== "dead").length;
    while (live < this.options.size) {
      this.spawnWorker();
      live++;
    }
  }

  private onWorkerExit(worker: Worker): void {
    this.workers.delete(worker);
    this.stats.workersKilled++;
    // Replace it straight away, so the next run finds a warm worker sooner.
    if (!this.closed && this.started) this.fill();
  }

  private acquire(limitBytes: number): Promise<Worker> {
    this.started = true;
    this.fill();
    return new Promise((resolve, reject) => {
      this.waiters.push({
        resolve: (worker) => {
          // A worker whose memory already exceeds this run's limit (after an earlier, larger run)
          // is replaced rather than used: wasm memory never shrinks.
          if (worker.memoryBytes > limitBytes) {
            if (worker.baselineBytes > limitBytes) {
              worker.state = "idle";
              this.dispatch();
              reject(codeExecutionError(`memoryMb is below what the python interpreter needs (${Math.ceil(worker.baselineBytes / 1048576)} MB)`));
              return;
            }
            worker.kill();
            this.acquire(limitBytes).then(resolve, reject);
            return;
          }
          resolve(worker);
        },
        reject,
      });
      this.dispatch();
    });
  }

  private release(worker: Worker): void {
    if (worker.state === "busy") worker.state = "idle";
    this.dispatch();
  }

  private dispatch(): void {
    while (this.waiters.length > 0) {
      const worker = [...this.workers].find((w) => w.state === "idle");
      if (!worker) return;
      const waiter = this.waiters.shift()!;
      worker.state = "busy";
      waiter.resolve(worker);
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-5).join(" | ").slice(0, 1000);
}
