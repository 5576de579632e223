// A real S3 protocol server (s3rver) in this process, on a free loopback port, storing in a temp
// directory; it checks SigV4 signatures (access key S3RVER / S3RVER). The bucket is made over S3 itself.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import type { S3StorageConfig } from "../../src/providers/storage/s3.js";

export type S3TestServer = {
  config: S3StorageConfig;
  /** Multipart uploads begun and neither completed nor aborted. */
  pendingUploads(): string[];
  close(): Promise<void>;
};

// What @types/s3rver leaves out: s3rver is a Koa app with a filesystem store.
type KoaContext = { method: string; path: string; query: Record<string, unknown>; status: number };
type S3rverInternals = {
  middleware: Array<(ctx: KoaContext, next: () => Promise<void>) => Promise<void>>;
  store: { getResourcePath(bucket: string, key: undefined, resource: string): string };
};

/** `abortMultipart: false` leaves s3rver refusing AbortMultipartUpload, as a flaky server might. */
export async function startS3Server({ bucket = "appgraph-test", abortMultipart = true } = {}): Promise<S3TestServer> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-s3-"));
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory });
  const internals = server as unknown as S3rverInternals;
  const uploadsDir = internals.store.getResourcePath(bucket, undefined, "uploads");
  // s3rver 3.7 lacks AbortMultipartUpload (it answers 405). Do what S3 does, dropping the upload's parts,
  // ahead of s3rver's own routes, so that tests can see whether an adapter aborts.
  if (abortMultipart) {
    internals.middleware.unshift(async (ctx, next) => {
      const uploadId = ctx.query.uploadId;
      if (ctx.method !== "DELETE" || typeof uploadId !== "string" || !/^[0-9a-f]+$/.test(uploadId)) return next();
      await fs.promises.rm(path.join(uploadsDir, uploadId), { recursive: true, force: true });
      ctx.status = 204;
    });
  }
  const address = await server.run();
  const config: S3StorageConfig = {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    region: "us-east-1",
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    forcePathStyle: true,
  };
  const admin = new S3Client({ ...config, requestChecksumCalculation: "WHEN_REQUIRED" });
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  admin.destroy();
  return {
    config,
    pendingUploads: () => (fs.existsSync(uploadsDir) ? fs.readdirSync(uploadsDir) : []),
    close: async () => {
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
