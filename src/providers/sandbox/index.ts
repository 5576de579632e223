// The code node's sandbox: `python3` in Pyodide (CPython on WebAssembly) in locked-down child
// processes, `javascript` in QuickJS on WebAssembly in-process. One interface for both.

import { DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS, checkLimits, codeExecutionError } from "./errors.js";
import { runJavascript } from "./javascript.js";
import { PythonPool, type PythonPoolOptions, type PythonPoolStats } from "./python.js";

import type { Sandbox } from "../../core/ports/sandbox.js";

export type { CodeLanguage, CodeRunRequest } from "../../core/ports/sandbox.js";

export interface CodeSandbox extends Sandbox {
  /** Terminates the python workers. */
  close(): Promise<void>;
}

export interface CodeSandboxOptions {
  /** Warm python workers kept once python is first used (default 1). */
  pythonWorkers?: number;
  /** Time allowed for a python worker to load (default 60 000 ms). */
  pythonStartupTimeoutMs?: number;
}

export interface CodeSandboxWithStats extends CodeSandbox {
  /** Python worker cold starts and restarts, for diagnostics and tests. */
  readonly pythonStats: PythonPoolStats;
}

export function createCodeSandbox(options: CodeSandboxOptions = {}): CodeSandboxWithStats {
  const poolOptions: PythonPoolOptions = { size: options.pythonWorkers, startupTimeoutMs: options.pythonStartupTimeoutMs };
  const pool = new PythonPool(poolOptions);
  let closed = false;
  return {
    get pythonStats() {
      return pool.stats;
    },
    async run(request) {
      if (closed) throw codeExecutionError("code sandbox is closed");
      const timeoutMs = request.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const memoryMb = request.memoryMb ?? DEFAULT_MEMORY_MB;
      checkLimits(timeoutMs, memoryMb);
      if (typeof request.code !== "string") throw codeExecutionError("code must be a string");
      const job = { code: request.code, inputs: request.inputs ?? {}, timeoutMs, memoryMb };
      switch (request.language) {
        case "python3":
          return pool.run(job);
        case "javascript":
          return runJavascript(job);
        default:
          throw codeExecutionError(`unsupported code language: ${String(request.language)}`);
      }
    },
    async close() {
      closed = true;
      await pool.close();
    },
  };
}
