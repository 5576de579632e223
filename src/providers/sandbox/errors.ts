import { AppError } from "../../core/errors.js";

/** Every failure of user code (or of the sandbox around it) surfaces as this one error. */
export const codeExecutionError = (message: string) => new AppError("code_execution_error", 400, message);

export const timeoutMessage = (timeoutMs: number) => `code execution timed out after ${timeoutMs} ms`;
export const MEMORY_MESSAGE = "memory limit exceeded";
export const NO_MAIN_MESSAGE = "no main function: the code must define main(...)";

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MEMORY_MB = 256;
/** Largest serialised output accepted from a run. */
export const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

export function checkLimits(timeoutMs: number, memoryMb: number): void {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw codeExecutionError(`invalid timeoutMs: ${timeoutMs}`);
  if (!Number.isFinite(memoryMb) || memoryMb <= 0) throw codeExecutionError(`invalid memoryMb: ${memoryMb}`);
}

/** Serialises the inputs the way they cross every boundary: as JSON text. */
export function inputsToJson(inputs: Record<string, unknown>): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(inputs ?? {});
  } catch (err) {
    throw codeExecutionError(`inputs are not JSON-serialisable: ${(err as Error).message}`);
  }
  if (json === undefined || !json.startsWith("{")) throw codeExecutionError("inputs must be an object");
  return json;
}

/** Parses a run's output JSON and checks it is a plain object. */
export function parseOutput(json: string, what: "an object" | "a dict"): Record<string, unknown> {
  if (json.length > MAX_OUTPUT_BYTES) throw codeExecutionError(`output too large (over ${MAX_OUTPUT_BYTES} bytes of JSON)`);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw codeExecutionError(`main must return ${what} of JSON-serialisable values`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw codeExecutionError(`main must return ${what}`);
  }
  return value as Record<string, unknown>;
}
