// The zero-config storage: files under DATA_DIR/storage, keys as relative paths. A body is written to a
// temporary file beside its destination and renamed into place only once complete, so a failed or
// aborted upload leaves nothing under its key (and its temporary file is removed).
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import type { FileStorage, StoredObject } from "../../core/ports/file-storage.js";

export class LocalDiskStorage implements FileStorage {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = `local disk (${root})`;
  }

  /** The file of `key`, refusing keys that would leave the root (keys are ours, but cheap to check). */
  private pathOf(key: string): string {
    const full = path.resolve(this.root, key);
    if (!full.startsWith(this.root + path.sep)) throw new Error(`storage key outside the storage root: ${key}`);
    return full;
  }

  async put(key: string, body: Readable, _options: { contentType: string }): Promise<void> {
    const target = this.pathOf(key);
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${crypto.randomBytes(6).toString("hex")}.part`;
    try {
      await pipeline(body, fs.createWriteStream(temp, { flags: "wx" }));
      await fs.promises.rename(temp, target);
    } catch (err) {
      await fs.promises.rm(temp, { force: true });
      throw err;
    }
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<StoredObject | null> {
    const file = this.pathOf(key);
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(file, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    // One open file for size and bytes: a delete between the two cannot split them.
    const { size } = await handle.stat();
    const body = fs.createReadStream("", { fd: handle, autoClose: true, ...(range ? { start: range.start, end: range.end ?? Math.max(size - 1, 0) } : {}) });
    return { body, size };
  }

  async delete(key: string): Promise<void> {
    await fs.promises.rm(this.pathOf(key), { force: true });
  }

  async close(): Promise<void> {}
}
