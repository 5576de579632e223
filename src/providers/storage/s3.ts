// FileStorage on S3 or an S3-compatible server (MinIO, R2, Ceph, ...): for several instances sharing
// uploads. Bodies stream both ways; uploads go through lib-storage's multipart Upload, which holds at
// most (queueSize + 1) parts of PART_SIZE in memory, whatever the file's size.
import { Readable } from "node:stream";
import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { FileStorage, StoredObject } from "../../core/ports/file-storage.js";

export type S3StorageConfig = {
  /** Unset: AWS itself. Set: an S3-compatible server, e.g. `http://127.0.0.1:9000`. */
  endpoint?: string;
  bucket: string;
  region: string;
  /** Unset: the SDK's default chain (AWS_* variables, shared files, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** `host/bucket/key` rather than `bucket.host/key`: what most self-hosted servers need. */
  forcePathStyle: boolean;
};

// S3's smallest part; parts are the unit of memory, so the smallest keeps an upload's footprint low.
const PART_SIZE = 5 * 1024 * 1024;
// Parts sent at once. A body arrives no faster than its client sends it, so more would add memory
// (5 MB each) rather than speed.
const QUEUE_SIZE = 2;

export function createS3Storage(config: S3StorageConfig): FileStorage {
  const client = new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    credentials: config.credentials,
    forcePathStyle: config.forcePathStyle,
    // The SDK's default CRC checksums on every request are refused by several S3-compatible servers
    // (older MinIO, R2 for some algorithms); ask for them only where the operation requires them.
    ...(config.endpoint ? { requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" } : {}),
  });
  const Bucket = config.bucket;

  return {
    description: `S3 (bucket ${Bucket}${config.endpoint ? ` at ${config.endpoint}` : ""})`,

    async put(key, body, { contentType }) {
      // The caller's wrapper may fail the body on purpose (size limit, client gone): that error, not the
      // SDK's rendering of it, is what put rejects with.
      let bodyError: unknown;
      const onError = (err: unknown) => (bodyError ??= err);
      body.on("error", onError);
      const upload = new Upload({
        client,
        // lib-storage takes a body's `size`, `byteLength` or `path` property for its length and, past
        // one part, fails the upload when the parts disagree with it. Our bodies' lengths are unknown
        // (the core's Intake counts bytes in `size`, 0 when this starts): hand over the bytes alone.
        params: { Bucket, Key: key, Body: Readable.from(body), ContentType: contentType },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        // Aborts the multipart upload on failure, so no parts linger (and cost) in the bucket.
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (err) {
        // S3 failed first: the body is ours to stop (a request left unread would hang its client).
        if (bodyError === undefined) {
          body.destroy();
          throw err;
        }
        // Aborting may itself have failed; the body's error still explains what happened.
        if (err !== bodyError && bodyError instanceof Error && bodyError.cause === undefined) bodyError.cause = err;
        throw bodyError;
      } finally {
        body.off("error", onError);
      }
    },

    async get(key, range): Promise<StoredObject | null> {
      try {
        const res = await client.send(
          new GetObjectCommand({ Bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end ?? ""}` : undefined }),
        );
        // "bytes 0-9/100": the total after the slash; without a range, the length is the whole size.
        const total = res.ContentRange?.match(/\/(\d+)$/)?.[1];
        return { body: res.Body as Readable, size: total !== undefined ? Number(total) : Number(res.ContentLength ?? 0) };
      } catch (err) {
        if (err instanceof NoSuchKey || (err as { name?: string }).name === "NoSuchKey") return null;
        throw err;
      }
    },

    async delete(key) {
      // S3 answers 204 whether or not the key exists.
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
    },

    async close() {
      client.destroy();
    },
  };
}
