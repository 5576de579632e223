// Where uploaded files' bytes live: local disk under DATA_DIR by default, S3-compatible object storage
// for several instances. Keys follow Dify's layout (`upload_files/<tenant>/<uuid>.<ext>`). Bodies are
// streams both ways: a 90 MB upload never sits in memory. Sizes, limits and hashes are the core's
// business (it wraps the body before handing it over); the adapter stores and serves bytes.
import type { Readable } from "node:stream";

export type StoredObject = {
  /** The bytes (or the requested range of them), as a stream the caller must consume or destroy. */
  body: Readable;
  /** The whole object's size in bytes (not the range's). */
  size: number;
};

export interface FileStorage {
  /** A name for logs and the README: "local disk", "S3 (bucket ...)". */
  readonly description: string;
  /**
   * Write `body` under `key`, replacing nothing (keys are fresh UUIDs). Resolves when the object is
   * stored in full; if `body` errors (a client gone, a size limit), rejects and leaves no object behind.
   */
  put(key: string, body: Readable, options: { contentType: string }): Promise<void>;
  /**
   * The object under `key`, or null when there is none. `range` (inclusive byte offsets, as in an HTTP
   * Range header; `end` defaults to the last byte) selects part of it.
   */
  get(key: string, range?: { start: number; end?: number }): Promise<StoredObject | null>;
  /** Remove the object; no error when it is already gone. */
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}
