// The FileStorage port's contract, for every adapter: call it inside a test file with a factory
// (which may rely on servers the file's own beforeAll started). Keys follow Dify's layout.
import crypto from "node:crypto";
import { Readable } from "node:stream";
import v8 from "node:v8";
import vm from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FileStorage } from "../../src/core/ports/file-storage.js";

const MB = 1024 * 1024;
const CHUNK = 64 * 1024;

const freshKey = (ext = "bin") => `upload_files/${crypto.randomUUID()}/${crypto.randomUUID()}.${ext}`;

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A full garbage collection, without --expose-gc on the command line. */
function collector(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

// Random bytes to cut bodies from: views of it cost no memory, so a large body is never held whole.
const POOL = crypto.randomBytes(MB + CHUNK);

/**
 * A `total`-byte body made on demand, 64 KiB at a time from POOL at shifting offsets (so parts stored
 * out of order would change the hash), hashed as it goes (and shown to `onChunk`, which, unlike a
 * "data" listener, leaves the flow to the consumer); with `failAfter`, it errors once that many bytes
 * have been read, as a vanished client would.
 */
function generated(total: number, failAfter?: number, onChunk?: (chunk: Buffer) => void) {
  const hash = crypto.createHash("sha256");
  let sent = 0;
  let n = 0;
  const stream = new Readable({
    read() {
      if (failAfter !== undefined && sent >= failAfter) return this.destroy(new Error("client went away"));
      if (sent >= total) return this.push(null);
      const offset = (n++ * 7919) % MB;
      const chunk = POOL.subarray(offset, offset + Math.min(CHUNK, total - sent));
      sent += chunk.length;
      hash.update(chunk);
      onChunk?.(chunk);
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest("hex") };
}

export function fileStorageContract(makeStorage: () => FileStorage | Promise<FileStorage>): void {
  describe("FileStorage contract", () => {
    let storage: FileStorage;
    beforeAll(async () => {
      storage = await makeStorage();
    });
    afterAll(async () => {
      await storage?.close();
    });

    const bytes = crypto.randomBytes(1000);
    const putBytes = async (content = bytes) => {
      const key = freshKey("txt");
      await storage.put(key, Readable.from([content]), { contentType: "text/plain" });
      return key;
    };

    it("stores a body and gives it back whole, with its size", async () => {
      const key = await putBytes();
      const got = await storage.get(key);
      expect(got?.size).toBe(bytes.length);
      expect((await readAll(got!.body)).equals(bytes)).toBe(true);
    });

    it("gives back ranges (inclusive offsets) with the whole object's size", async () => {
      const key = await putBytes();
      const cases: Array<[{ start: number; end?: number }, Buffer]> = [
        [{ start: 10 }, bytes.subarray(10)],
        [{ start: 10, end: 19 }, bytes.subarray(10, 20)],
        [{ start: 999 }, bytes.subarray(999)],
        [{ start: 999, end: 999 }, bytes.subarray(999)],
      ];
      for (const [range, expected] of cases) {
        const got = await storage.get(key, range);
        expect(got?.size, JSON.stringify(range)).toBe(1000);
        expect((await readAll(got!.body)).equals(expected), JSON.stringify(range)).toBe(true);
      }
    });

    it("answers null for a key it does not hold", async () => {
      expect(await storage.get(freshKey())).toBeNull();
      expect(await storage.get(freshKey(), { start: 0 })).toBeNull();
    });

    it("deletes, after which the key is gone; deleting a missing key is no error", async () => {
      const key = await putBytes();
      await storage.delete(key);
      expect(await storage.get(key)).toBeNull();
      await expect(storage.delete(key)).resolves.toBeUndefined();
      await expect(storage.delete(freshKey())).resolves.toBeUndefined();
    });

    // Small failures end before any storage-side part exists; large ones after several (S3: multipart).
    it.each([
      ["early", 1000, 100],
      ["after several megabytes", 30 * MB, 12 * MB],
    ])("rejects a put whose body errors (%s) with that error, and keeps no object", async (_, total, failAfter) => {
      const key = freshKey();
      const { stream } = generated(total, failAfter);
      await expect(storage.put(key, stream, { contentType: "application/octet-stream" })).rejects.toThrow("client went away");
      expect(await storage.get(key)).toBeNull();
    });

    // The core hands over its Intake, which counts bytes in `size` as they pass (0 when put starts):
    // nothing the stream carries besides its bytes may be taken for its length.
    it("stores a multi-megabyte body whose stream has a `size` property of its own", { timeout: 60_000 }, async () => {
      const key = freshKey();
      const source = generated(12 * MB);
      Object.assign(source.stream, { size: 0 });
      await storage.put(key, source.stream, { contentType: "application/octet-stream" });
      const got = await storage.get(key);
      expect(got?.size).toBe(12 * MB);
      expect(crypto.createHash("sha256").update(await readAll(got!.body)).digest("hex")).toBe(source.sha256());
    });

    it("streams a 50 MB body in and out without holding it in memory", { timeout: 120_000 }, async () => {
      // A smaller round trip first, so that one-time costs (code loaded, heaps and allocator arenas
      // grown to their working size) are not counted as the body's.
      const warmKey = freshKey();
      await storage.put(warmKey, generated(12 * MB).stream, { contentType: "application/octet-stream" });
      await readAll((await storage.get(warmKey))!.body);
      await storage.delete(warmKey);

      // RSS also counts garbage not yet collected (tens of MB, as V8 pleases); collecting every few MB
      // leaves what is really held, so the figure is steady from run to run.
      const gc = collector();
      let seen = 0;
      gc();
      const before = process.memoryUsage().rss;
      let peak = before;
      const sample = (chunk: Buffer) => {
        peak = Math.max(peak, process.memoryUsage().rss);
        seen += chunk.length;
        if (seen % (4 * MB) < chunk.length) gc();
      };

      const key = freshKey();
      const source = generated(50 * MB, undefined, sample);
      await storage.put(key, source.stream, { contentType: "application/octet-stream" });
      const got = await storage.get(key);
      expect(got?.size).toBe(50 * MB);
      const readBack = crypto.createHash("sha256");
      for await (const chunk of got!.body) {
        readBack.update(chunk as Buffer);
        sample(chunk as Buffer);
      }
      expect(readBack.digest("hex")).toBe(source.sha256());
      // Bounds memory, not speed: the whole body would be 50 MB (and twice that with copies).
      const growthMb = (peak - before) / MB;
      expect(growthMb, `RSS grew ${growthMb.toFixed(1)} MB`).toBeLessThan(40);
    });
  });
}
