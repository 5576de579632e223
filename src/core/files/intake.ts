// The body of an upload on its way to storage: counted (refused past the size limit), hashed
// (sha3-256) and sniffed (its first bytes must fit its name) as it passes, never held whole. Any
// refusal errors the stream, so the storage's put rejects and keeps nothing.
import crypto from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { fileTypeFromBuffer } from "file-type";
import { AppError } from "../errors.js";

// file-type reads at most this many bytes to decide.
const SNIFF_BYTES = 4100;

export type Sniffed = { ext: string; mime: string } | undefined;

export class Intake extends Transform {
  size = 0;
  sniffed: Sniffed;
  private readonly hasher = crypto.createHash("sha3-256");
  private head: Buffer[] = [];
  private headBytes = 0;
  private checked = false;

  constructor(
    private readonly maxBytes: number,
    /** Throws (an AppError) when the sniffed type does not fit the file. */
    private readonly check: (sniffed: Sniffed) => void,
  ) {
    super();
  }

  get hash(): string {
    return this.hasher.copy().digest("hex");
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      return done(new AppError("file_too_large", 413, `File size exceeded. ${this.size} > ${this.maxBytes} bytes.`));
    }
    this.hasher.update(chunk);
    if (this.checked) return done(null, chunk);
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.headBytes < SNIFF_BYTES) return done();
    this.release(done);
  }

  override _flush(done: TransformCallback) {
    if (this.checked) return done();
    this.release(done);
  }

  /** Sniff the bytes held back, then let them through (or fail). */
  private release(done: TransformCallback) {
    const head = Buffer.concat(this.head);
    this.head = [];
    fileTypeFromBuffer(head).then(
      (sniffed) => {
        this.sniffed = sniffed ? { ext: sniffed.ext, mime: sniffed.mime } : undefined;
        try {
          this.check(this.sniffed);
        } catch (err) {
          return done(err as Error);
        }
        this.checked = true;
        done(null, head);
      },
      (err) => done(err),
    );
  }
}
