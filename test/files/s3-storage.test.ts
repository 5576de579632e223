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

  it("rejects with the body's error even when the server refuses the abort", async () => {
    const refusing = await startS3Server({ abortMultipart: false });
    const storage = createS3Storage(refusing.config);
    const chunk = Buffer.alloc(1024 * 1024, 7);
    async function* failing() {
      for (let i = 0; i < 12; i++) yield chunk;
      throw new Error("client went away");
    }
    try {
      await expect(storage.put("upload_files/t/refused.bin", Readable.from(failing()), { contentType: "application/octet-stream" })).rejects.toThrow(
        "client went away",
      );
      expect(await storage.get("upload_files/t/refused.bin")).toBeNull();
    } finally {
      await storage.close();
      await refusing.close();
    }
  });

  it("names its bucket and endpoint", async () => {
    const storage = createS3Storage(s3.config);
    expect(storage.description).toBe(`S3 (bucket appgraph-test at ${s3.config.endpoint})`);
    await storage.close();
  });
});
