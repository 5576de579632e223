// Multipart bodies read as streams (busboy): each file part is handed over as it arrives, nothing held
// whole. One reader for every route that takes a file (uploads, recordings), so a client that leaves
// mid-body and a malformed body are handled alike.
import type { Readable } from "node:stream";
import busboy from "busboy";
import { AppError, badRequest } from "../core/errors.js";
import type { RouteContext } from "./http.js";

export type MultipartHandlers = {
  /** A file part: consume `stream` (hand it to a use case) or resume it to let it through to nowhere. */
  onFile(name: string, stream: Readable, info: busboy.FileInfo): void;
  onField?(name: string, value: string): void;
  /** The error for a body that is not multipart at all. */
  notMultipart: () => AppError;
  preservePath?: boolean;
};

/**
 * Reads the request's multipart body to its end. Rejects with `notMultipart()`, a 400 for a malformed
 * body, or the connection error of a client gone mid-body (the parser is destroyed, so a file stream
 * being read errors and whatever was storing it keeps nothing).
 */
export async function readMultipart(ctx: RouteContext, handlers: MultipartHandlers): Promise<void> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: ctx.req.headers, preservePath: handlers.preservePath, limits: { fields: 10, fieldSize: 1024, parts: 20 } });
  } catch {
    ctx.req.resume();
    throw handlers.notMultipart();
  }
  parser.on("file", (name, stream, info) => handlers.onFile(name, stream, info));
  if (handlers.onField) parser.on("field", (name, value) => handlers.onField!(name, value));
  const done = new Promise<void>((resolve, reject) => {
    parser.on("close", resolve);
    parser.on("error", reject);
    const gone = () => {
      const err = Object.assign(new Error("aborted"), { code: "ECONNRESET" });
      parser.destroy(err);
      reject(err);
    };
    ctx.req.on("aborted", gone);
    ctx.req.on("error", gone);
  });
  ctx.req.pipe(parser);
  try {
    await done;
  } catch (err) {
    ctx.req.unpipe(parser);
    if (ctx.req.destroyed) throw err;
    throw badRequest(`The multipart body is malformed: ${(err as Error).message}`);
  }
}
