// How every adapter reports an abort through the caller's signal: an AbortError, as fetch does.

/**
 * The error an aborted request surfaces: `err` itself when it already is an AbortError (as fetch
 * rejects with for a plain `abort()`), else the signal's reason when that is one, else a fresh
 * DOMException named "AbortError" (e.g. for `abort(customReason)` or AbortSignal.timeout's TimeoutError).
 */
export function abortError(signal: AbortSignal | undefined, err?: unknown): Error {
  if (isAbortError(err)) return err;
  const reason: unknown = signal?.reason;
  if (isAbortError(reason)) return reason;
  const error = new DOMException("This operation was aborted", "AbortError");
  if (reason !== undefined) Object.defineProperty(error, "cause", { value: reason, configurable: true, writable: true });
  return error;
}

function isAbortError(err: unknown): err is Error {
  return typeof err === "object" && err !== null && (err as { name?: unknown }).name === "AbortError";
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}
