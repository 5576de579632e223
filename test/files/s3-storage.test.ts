// The S3 adapter against a real S3 protocol server on loopback: the port's contract, then what is S3's own.
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createS3Storage } from "../../src/providers/storage/s3.js";
import { startS3Server, type S3TestServer } from "../support/s3-server.js";
import { fileStorageContract } from "../support/storage-contract.js";

describe("S3 file storage", () => {
  let s3: S3TestServer;
  beforeAll(async () => {
    s3 = await startS3Server();
  });
  afterAll(async () => {
    await s3?.close();
  });

  fileStorageContract(() => createS3Storage(s3.config));

  it("aborts the multipart upload of a body that fails, leaving no parts behind", async () => {
    const storage = createS3Storage(s3.config);
    const chunk = Buffer.alloc(1024 * 1024, 7);
    // 12 MB: two 5 MB parts are sent before the body fails.
    async function* failing() {
      for (let i = 0; i < 12; i++) yield chunk;
      throw new Error("client went away");
    }
    await expect(storage.put("upload_files/t/aborted.bin", Readable.from(failing()), { contentType: "application/octet-stream" })).rejects.toThrow(
      "client went away",
    );
    expect(s3.pendingUploads()).toEqual([]);
    await storage.close();
  });

  it("names its bucket and endpoint", () => {
    expect(createS3Storage(s3.config).description).toBe(`S3 (bucket appgraph-test at ${s3.config.endpoint})`);
  });
});
