// Uploads on S3 storage (S3_BUCKET set), against a real S3 protocol server on loopback: both surfaces
// store the bytes in the bucket under Dify's key layout, and the signed URL serves them back, ranges too.
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createS3Storage } from "../../src/providers/storage/s3.js";
import { PICTURE } from "../support/image-server.js";
import { startS3Server, type S3TestServer } from "../support/s3-server.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { form, storedFiles } from "../support/uploads.js";

const UPLOAD = `mutation($file: Upload!) { uploadFile(file: $file) { __typename ... on UploadFilePayload { file { id url } } } }`;

describe("file uploads on S3 storage", () => {
  let s3: S3TestServer;
  let s: TestServer;
  let passport: string;

  beforeAll(async () => {
    s3 = await startS3Server();
    s = await startTestServer("pglite", {
      S3_ENDPOINT: s3.config.endpoint!,
      S3_BUCKET: s3.config.bucket,
      S3_ACCESS_KEY_ID: "S3RVER",
      S3_SECRET_ACCESS_KEY: "S3RVER",
    });
    passport = await s.passport((await s.importApp("apps/chat-file-uploads.yml")).code);
  });
  afterAll(async () => {
    await s?.close();
    await s3?.close();
  });

  async function inBucket(id: string) {
    const row = await s.rt.db.uploadFile.findUniqueOrThrow({ where: { id } });
    expect(row.storageType).toBe("s3");
    const object = await createS3Storage(s3.config).get(row.key);
    const chunks: Buffer[] = [];
    for await (const chunk of object!.body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  it("REST: stores the upload in the bucket and serves it at its signed URL", async () => {
    const res = await s.api("/files/upload", { method: "POST", passport, body: form([{ name: "file", filename: "cat.png", type: "image/png", body: PICTURE }]) });
    expect(res.status).toBe(201);
    const body = (await res.json()) as any;
    expect(await inBucket(body.id)).toEqual(PICTURE);
    expect(storedFiles(s)).toEqual([]); // nothing on local disk
    const whole = await fetch(s.url + body.source_url);
    expect(Buffer.from(await whole.arrayBuffer())).toEqual(PICTURE);
    const part = await fetch(s.url + body.source_url, { headers: { range: "bytes=1-4" } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(PICTURE.subarray(1, 5));
  });

  it("GraphQL: uploadFile stores in the bucket too", async () => {
    const fd = new FormData();
    fd.append("operations", JSON.stringify({ query: UPLOAD, variables: { file: null } }));
    fd.append("map", JSON.stringify({ 0: ["variables.file"] }));
    fd.append("0", new Blob([new Uint8Array(PICTURE)]), "dog.png");
    const res = await fetch(`${s.url}/graphql`, { method: "POST", body: fd, headers: { "graphql-preflight": "1", "x-app-passport": passport } });
    const body = (await res.json()) as any;
    expect(body.data.uploadFile.__typename).toBe("UploadFilePayload");
    expect(await inBucket(body.data.uploadFile.file.id)).toEqual(PICTURE);
  });

  // Past one 5 MB part the bucket gets a multipart upload: 12 MiB of random bytes, three parts.
  const BIG = crypto.randomBytes(12 * 1024 * 1024);

  it("REST: stores a file of several parts whole", { timeout: 60_000 }, async () => {
    const res = await s.api("/files/upload", { method: "POST", passport, body: form([{ name: "file", filename: "big.dat", body: BIG }]) });
    expect(res.status).toBe(201);
    const body = (await res.json()) as any;
    expect(body.size).toBe(BIG.length);
    expect((await inBucket(body.id)).equals(BIG)).toBe(true);
  });

  it("GraphQL: uploadFile stores a file of several parts whole", { timeout: 60_000 }, async () => {
    const fd = new FormData();
    fd.append("operations", JSON.stringify({ query: UPLOAD, variables: { file: null } }));
    fd.append("map", JSON.stringify({ 0: ["variables.file"] }));
    fd.append("0", new Blob([new Uint8Array(BIG)]), "big.dat");
    const res = await fetch(`${s.url}/graphql`, { method: "POST", body: fd, headers: { "graphql-preflight": "1", "x-app-passport": passport } });
    const body = (await res.json()) as any;
    expect(body.data?.uploadFile.__typename, JSON.stringify(body)).toBe("UploadFilePayload");
    expect((await inBucket(body.data.uploadFile.file.id)).equals(BIG)).toBe(true);
  });
});
