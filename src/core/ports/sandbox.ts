// What the code node needs: run untrusted `main` code in a sandbox and get its object back.

export type CodeLanguage = "python3" | "javascript";

export interface CodeRunRequest {
  language: CodeLanguage;
  code: string;
  /** Passed to main as keyword arguments (python3) or as its one object argument (javascript). */
  inputs: Record<string, unknown>;
  /** Execution deadline; default 10 000 ms. */
  timeoutMs?: number;
  /** Memory cap; default 256 MB. */
  memoryMb?: number;
}

export interface Sandbox {
  /** Runs `main` and returns its dict/object. Failures are AppError `code_execution_error` (400). */
  run(request: CodeRunRequest): Promise<Record<string, unknown>>;
}
