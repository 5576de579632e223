// Removing uploads nobody used: past the retention period, an upload no message or run used loses its
// row and its object; used ones, recent ones and ones a message_files row names stay. On local disk
// (each database) and on S3; sweeps at once share the work; the server sweeps on its own timer.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Viewer } from "../../src/core/auth/passport.service.js";
import type { FileValue } from "../../src/core/files/file-refs.js";
import { markUsed } from "../../src/core/files/request-files.js";
import { createS3Storage } from "../../src/providers/storage/s3.js";
import { PICTURE } from "../support/image-server.js";
import { startS3Server, type S3TestServer } from "../support/s3-server.js";
import { backends, startTestServer, type Backend, type TestServer } from "../support/server.js";
import { waitFor } from "../support/sse.js";
import { form } from "../support/uploads.js";

const HOUR = 3600_000;
const RETENTION = { retentionMs: HOUR };

const storages: [string, Backend, "local" | "s3"][] = [...backends.map((b) => [`local disk, ${b}`, b, "local"] as [string, Backend, "local"]), ["S3, pglite", "pglite", "s3"]];

describe.each(storages)("removing unused uploads (%s)", (_name, backend, storage) => {
  let s3: S3TestServer | undefined;
  let s: TestServer;
  let app: { id: string; code: string };
  let passport: string;

  beforeAll(async () => {
    s3 = storage === "s3" ? await startS3Server() : undefined;
    const env: Record<string, string> = s3 ? { S3_ENDPOINT: s3.config.endpoint!, S3_BUCKET: s3.config.bucket, S3_ACCESS_KEY_ID: "S3RVER", S3_SECRET_ACCESS_KEY: "S3RVER" } : {};
    s = await startTestServer(backend, env);
    app = await s.importApp("apps/chat-file-uploads.yml");
    passport = await s.passport(app.code);
  });
  afterAll(async () => {
    await s?.close();
    await s3?.close();
  });

  /** An upload through the API: its row's id and key, and its signed URL. */
  async function upload(filename = "cat.png") {
    const res = await s.api("/files/upload", { method: "POST", passport, body: form([{ name: "file", filename, type: "image/png", body: PICTURE }]) });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; source_url: string };
    const row = await s.rt.db.uploadFile.findUniqueOrThrow({ where: { id: body.id } });
    return { id: body.id, key: row.key, url: s.url + body.source_url, createdBy: row.createdBy };
  }

  async function objectExists(key: string): Promise<boolean> {
    if (!s3) return fs.existsSync(path.join(s.config.dataDir, "storage", key));
    const bucket = createS3Storage(s3.config);
    try {
      const object = await bucket.get(key);
      object?.body.destroy();
      return object !== null;
    } finally {
      await bucket.close();
    }
  }

  const present = async (file: { id: string; key: string }) => ({
    row: (await s.rt.db.uploadFile.count({ where: { id: file.id } })) === 1,
    object: await objectExists(file.key),
  });
  const hoursFromNow = (h: number) => new Date(Date.now() + h * HOUR);
  const sweep = (now: Date, batchSize?: number) => s.rt.core.removeUnusedFiles({ ...RETENTION, now, batchSize });

  it("removes an unused upload past the retention period, row and object, and keeps a recent one", async () => {
    const file = await upload();
    expect((await fetch(file.url)).status).toBe(200);
    await sweep(hoursFromNow(0.5));
    expect(await present(file)).toEqual({ row: true, object: true });
    expect(await sweep(hoursFromNow(2))).toBeGreaterThanOrEqual(1);
    expect(await present(file)).toEqual({ row: false, object: false });
    expect((await fetch(file.url)).status).toBe(404);
  });

  it("keeps an upload marked used, however old", async () => {
    const file = await upload();
    await s.rt.db.uploadFile.update({ where: { id: file.id }, data: { used: true, usedBy: file.createdBy, usedAt: new Date() } });
    await sweep(hoursFromNow(48));
    expect(await present(file)).toEqual({ row: true, object: true });
    expect((await fetch(file.url)).status).toBe(200);
  });

  it("keeps an upload a message_files row names, even unmarked", async () => {
    const file = await upload();
    const conversation = await s.rt.db.conversation.create({ data: { appId: app.id, mode: "chat", name: "files", fromEndUserId: file.createdBy } });
    const message = await s.rt.db.message.create({ data: { appId: app.id, conversationId: conversation.id, query: "look", fromEndUserId: file.createdBy } });
    await s.rt.db.messageFile.create({ data: { messageId: message.id, type: "image", transferMethod: "local_file", uploadFileId: file.id, createdBy: file.createdBy } });
    await sweep(hoursFromNow(48));
    expect(await present(file)).toEqual({ row: true, object: true });
  });

  it("keeps an upload a chat message used, and refuses to mark used one the sweep removed", async () => {
    const file = await upload();
    const sent = await s.api("/chat-messages", {
      method: "POST", passport, headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "look", inputs: {}, response_mode: "blocking", files: [{ type: "image", transfer_method: "local_file", upload_file_id: file.id }] }),
    });
    expect(sent.status).toBe(200);
    expect((await s.rt.db.uploadFile.findUniqueOrThrow({ where: { id: file.id } })).used).toBe(true);
    await sweep(hoursFromNow(48));
    expect(await present(file)).toEqual({ row: true, object: true });

    // A request checked the file, then the sweep took it before the request's rows were written.
    const gone = await upload();
    const viewer = { app: { id: app.id }, endUser: { id: gone.createdBy } } as Viewer;
    const value = { related_id: gone.id } as FileValue;
    await sweep(hoursFromNow(2));
    const marking = s.rt.db.$transaction((tx) => markUsed(tx, viewer, [value], new Date()));
    await expect(marking).rejects.toMatchObject({ code: "invalid_param", status: 400 });
  });

  it("two sweeps at once both succeed and remove each file once, in small batches", async () => {
    await sweep(hoursFromNow(2)); // what earlier tests left unused
    const files = await Promise.all(Array.from({ length: 7 }, (_, i) => upload(`pic-${i}.png`)));
    const removed = await Promise.all([sweep(hoursFromNow(2), 2), sweep(hoursFromNow(2), 2)]);
    expect(removed[0] + removed[1]).toBe(files.length);
    for (const file of files) expect(await present(file)).toEqual({ row: false, object: false });
    expect(await sweep(hoursFromNow(2))).toBe(0);
  });
});

describe("the server's own sweep", () => {
  let s: TestServer;
  afterAll(() => s?.close());

  it("runs every FILES_CLEANUP_INTERVAL_MINUTES and removes uploads older than FILES_RETENTION_HOURS", async () => {
    s = await startTestServer("pglite", { FILES_RETENTION_HOURS: "1", FILES_CLEANUP_INTERVAL_MINUTES: "0.002" });
    const passport = await s.passport((await s.importApp("apps/chat-file-uploads.yml")).code);
    const upload = async () => {
      const res = await s.api("/files/upload", { method: "POST", passport, body: form([{ name: "file", filename: "cat.png", type: "image/png", body: PICTURE }]) });
      const { id } = (await res.json()) as { id: string };
      return s.rt.db.uploadFile.findUniqueOrThrow({ where: { id } });
    };
    const [old, recent] = [await upload(), await upload()];
    await s.rt.db.uploadFile.update({ where: { id: old.id }, data: { createdAt: new Date(Date.now() - 2 * HOUR) } });
    const stored = (key: string) => fs.existsSync(path.join(s.config.dataDir, "storage", key));
    await waitFor(async () => (await s.rt.db.uploadFile.count({ where: { id: old.id } })) === 0);
    expect(stored(old.key)).toBe(false);
    expect(await s.rt.db.uploadFile.count({ where: { id: recent.id } })).toBe(1);
    expect(stored(recent.key)).toBe(true);
  });

  it("judges an upload's age as Prisma wrote it, whatever the database session's time zone", async () => {
    // PGlite has one session: this holds for every query the server makes from now on. Prisma then
    // writes created_at five hours off, and the sweep's cutoff must be off alike.
    await s.rt.db.$executeRawUnsafe("SET TIME ZONE 'America/New_York'");
    const passport = await s.passport((await s.importApp("apps/chat-file-uploads.yml")).code);
    const res = await s.api("/files/upload", { method: "POST", passport, body: form([{ name: "file", filename: "cat.png", type: "image/png", body: PICTURE }]) });
    const { id } = (await res.json()) as { id: string };
    await s.rt.core.removeUnusedFiles({ ...RETENTION, now: new Date(Date.now() + HOUR / 2) });
    expect(await s.rt.db.uploadFile.count({ where: { id } })).toBe(1);
    await s.rt.core.removeUnusedFiles({ ...RETENTION, now: new Date(Date.now() + 2 * HOUR) });
    expect(await s.rt.db.uploadFile.count({ where: { id } })).toBe(0);
  });
});

describe("a sweep when storage fails", () => {
  let s3: S3TestServer | undefined;
  let s: TestServer;
  afterAll(async () => {
    await s?.close();
    await s3?.close();
  });

  it("fails and keeps the rows, for the next sweep to retry, rather than leave objects nothing points at", async () => {
    s3 = await startS3Server();
    s = await startTestServer("pglite", { S3_ENDPOINT: s3.config.endpoint!, S3_BUCKET: s3.config.bucket, S3_ACCESS_KEY_ID: "S3RVER", S3_SECRET_ACCESS_KEY: "S3RVER" });
    const passport = await s.passport((await s.importApp("apps/chat-file-uploads.yml")).code);
    const res = await s.api("/files/upload", { method: "POST", passport, body: form([{ name: "file", filename: "cat.png", type: "image/png", body: PICTURE }]) });
    const { id } = (await res.json()) as { id: string };
    const bucket = s3;
    s3 = undefined;
    await bucket.close(); // the bucket is unreachable
    await expect(s.rt.core.removeUnusedFiles({ ...RETENTION, now: new Date(Date.now() + 2 * HOUR) })).rejects.toThrow();
    expect(await s.rt.db.uploadFile.count({ where: { id } })).toBe(1);
  });
});
