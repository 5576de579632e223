// A client that goes away in the middle of its request (closes or resets the connection while its body
// is being read, or is cut off by the request timeout) is ordinary traffic: logged at debug by the
// surfaces, never as an unexpected error of ours.
import type { IncomingMessage } from "node:http";

export function isClientAbort(err: unknown, req: IncomingMessage): boolean {
  if (!req.destroyed) return false;
  const { code, message } = (err ?? {}) as { code?: string; message?: string };
  // Node's own errors for it: `aborted` (ECONNRESET) from the request stream, or a stream cut short.
  return (code === "ECONNRESET" && message === "aborted") || code === "ERR_STREAM_PREMATURE_CLOSE";
}
