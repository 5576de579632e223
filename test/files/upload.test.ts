// POST /api/files/upload and the signed URLs it hands out (behaviour.md 2.6, 1.5): the body is streamed
// to storage, checked by name, size and bytes on the way, and recorded only once stored in full.
import path from "node:path";
import crypto from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PICTURE } from "../support/image-server.js";
import { backends, startTestServer, TEST_SECRET, type TestServer } from "../support/server.js";
import { waitFor } from "../support/sse.js";
import { form, storedFiles } from "../support/uploads.js";

// Small limits: an image over 2 KiB, any other file over 4 KiB is too large.
const LIMITS = { UPLOAD_IMAGE_FILE_SIZE_LIMIT: String(2 / 1024), UPLOAD_FILE_SIZE_LIMIT: String(4 / 1024), FILES_ACCESS_TIMEOUT: "60" };
const ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(120)]);

describe.each(backends)("file uploads (%s)", (backend) => {
  let s: TestServer;
  let passport: string;
  let other: string;
  let imagesOnly: string;

  beforeAll(async () => {
    s = await startTestServer(backend, LIMITS);
    const app = await s.importApp("apps/chat-file-uploads.yml");
    passport = await s.passport(app.code);
    other = await s.passport(app.code);
    imagesOnly = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
  });
  afterAll(() => s?.close());

  const upload = (body: FormData, who = passport) => s.api("/files/upload", { method: "POST", body, passport: who });
  const rows = () => s.rt.db.uploadFile.count();

  it("stores a picture and answers 201 with Dify's FileResponse and a signed URL that serves it", async () => {
    const res = await upload(form([{ name: "file", filename: "cat.png", type: "image/png", body: PICTURE }]));
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, any>;
    expect(body).toMatchObject({ name: "cat.png", size: PICTURE.length, extension: "png", mime_type: "image/png", preview_url: null, original_url: null, user_id: null, conversation_id: null, file_key: null });
    expect(Number.isInteger(body.created_at)).toBe(true);
    expect(body.source_url).toMatch(new RegExp(`^/files/${body.id}/file-preview\\?timestamp=\\d+&nonce=\\w+&sign=[\\w-]+$`));
    const row = await s.rt.db.uploadFile.findUniqueOrThrow({ where: { id: body.id } });
    expect(row.key).toBe(`upload_files/${row.tenantId}/${path.basename(row.key)}`);
    expect(row.tenantId).toBe(row.appId);
    expect(body.tenant_id).toBe(row.tenantId);
    expect(body.created_by).toBe(row.createdBy);
    expect(row.hash).toBe(crypto.createHash("sha3-256").update(PICTURE).digest("hex"));
    expect(row.storageType).toBe("local");
    const file = await fetch(s.url + body.source_url);
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toBe("image/png");
    expect(file.headers.get("content-disposition")).toBe('inline; filename="cat.png"');
    expect(Buffer.from(await file.arrayBuffer())).toEqual(PICTURE);
  });

  it("tells the app's pages the limits it enforces, on REST and GraphQL alike", async () => {
    const body = (await (await s.api("/parameters", { passport })).json()) as any;
    const mb = { image: 2 / 1024, video: 100, audio: 50, other: 4 / 1024 }; // LIMITS, and the defaults
    expect(body.system_parameters).toEqual({
      image_file_size_limit: mb.image,
      video_file_size_limit: mb.video,
      audio_file_size_limit: mb.audio,
      file_size_limit: mb.other,
      workflow_file_upload_limit: 10,
    });
    const gql = await s.graphql(
      `{ currentApp { ... on App { parameters { systemParameters { imageFileSizeMb videoFileSizeMb audioFileSizeMb fileSizeMb workflowFileCount } } } } }`,
      {},
      { "x-app-passport": passport },
    );
    expect(gql.data!.currentApp.parameters.systemParameters).toEqual({
      imageFileSizeMb: mb.image,
      videoFileSizeMb: mb.video,
      audioFileSizeMb: mb.audio,
      fileSizeMb: mb.other,
      workflowFileCount: 10,
    });
  });

  it("keeps documents and custom extensions the app allows", async () => {
    for (const [filename, type] of [["notes.md", "text/markdown"], ["data.dat", "application/octet-stream"]]) {
      const res = await upload(form([{ name: "file", filename, body: "# hello\n" }]));
      expect(res.status).toBe(201);
      expect(((await res.json()) as any).mime_type).toBe(type);
    }
  });

  it("refuses a form without a file, with two, or with a bad name, storing nothing", async () => {
    const before = await rows();
    const cases: [FormData, number, string][] = [
      [form([{ name: "source", body: "x" }]), 400, "no_file_uploaded"],
      [form([{ name: "other", filename: "a.txt", body: "x" }]), 400, "no_file_uploaded"],
      [form([{ name: "file", filename: "a.txt", body: "x" }, { name: "file", filename: "b.txt", body: "y" }]), 400, "too_many_files"],
      [form([{ name: "file", filename: "a.txt", body: "x" }, { name: "other", filename: "b.txt", body: "y" }]), 400, "too_many_files"],
      [form([{ name: "file", filename: "run.exe", body: "MZ" }]), 400, "invalid_param"],
      [form([{ name: "file", filename: "evil.sh", body: "#!/bin/sh" }]), 400, "invalid_param"],
      [form([{ name: "file", filename: "a.txt", body: "x" }, { name: "source", body: "datasets" }]), 201, ""],
      [form([{ name: "file", filename: "cat.png", body: PICTURE }, { name: "source", body: "datasets" }]), 415, "unsupported_file_type"],
    ];
    for (const [body, status, code] of cases) {
      const res = await upload(body);
      expect(res.status, code).toBe(status);
      if (code) expect(await res.json()).toMatchObject({ code, status });
    }
    expect(await rows()).toBe(before + 1);
    expect(storedFiles(s)).toHaveLength(before + 1);
  });

  it("refuses empty names and path separators (which FormData cannot send)", async () => {
    // busboy takes a part with an empty filename for a plain field unless its type says it is a file.
    for (const [filename, code] of [["", "filename_not_exists_error"], ["../x.txt", "invalid_param"], ["a\\\\b.txt", "invalid_param"]]) {
      const boundary = "b0undary";
      const raw = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\nhello\r\n--${boundary}--\r\n`;
      const res = await s.api("/files/upload", { method: "POST", passport, headers: { "content-type": `multipart/form-data; boundary=${boundary}` }, body: raw });
      expect(res.status, filename).toBe(400);
      expect(await res.json()).toMatchObject({ code, status: 400 });
    }
    const res = await s.api("/files/upload", { method: "POST", passport, headers: { "content-type": "application/json" }, body: "{}" });
    expect(await res.json()).toMatchObject({ code: "no_file_uploaded", status: 400 });
  });

  it("holds each kind to its size limit: 413 file_too_large, nothing stored", async () => {
    const before = await rows();
    const stored = storedFiles(s).length;
    const bigPicture = Buffer.concat([PICTURE, Buffer.alloc(3000)]);
    for (const [filename, body] of [["big.png", bigPicture], ["big.txt", Buffer.alloc(5000, 0x61)]] as const) {
      const res = await upload(form([{ name: "file", filename, body }]));
      expect(res.status, filename).toBe(413);
      expect(await res.json()).toMatchObject({ code: "file_too_large", status: 413 });
    }
    // Within the other kinds' limit, but not an image's.
    expect((await upload(form([{ name: "file", filename: "ok.txt", body: Buffer.alloc(3000, 0x61) }]))).status).toBe(201);
    expect(await rows()).toBe(before + 1);
    expect(storedFiles(s)).toHaveLength(stored + 1);
  });

  it("checks the bytes as well as the name: a renamed executable or a text 'picture' is 415", async () => {
    const before = await rows();
    for (const [filename, body] of [["cat.png", ELF], ["cat.jpg", Buffer.from("not a picture at all")], ["notes.txt", ELF], ["x.dat", ELF], ["song.mp3", PICTURE]] as const) {
      const res = await upload(form([{ name: "file", filename, body }]));
      expect(res.status, filename).toBe(415);
      expect(await res.json()).toMatchObject({ code: "unsupported_file_type", status: 415 });
    }
    expect(await rows()).toBe(before);
  });

  it("enforces the app's file_upload settings", async () => {
    // The travel planner takes local images only.
    expect((await upload(form([{ name: "file", filename: "cat.png", body: PICTURE }]), imagesOnly)).status).toBe(201);
    const res = await upload(form([{ name: "file", filename: "notes.md", body: "# hi" }]), imagesOnly);
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ code: "unsupported_file_type" });
    const custom = await upload(form([{ name: "file", filename: "x.bin2", body: "x" }]));
    expect(custom.status).toBe(415);
  });

  it("needs a passport", async () => {
    const res = await s.api("/files/upload", { method: "POST", body: form([{ name: "file", filename: "a.txt", body: "x" }]) });
    expect(res.status).toBe(401);
  });

  it("leaves neither file nor row when the client goes away mid-upload", async () => {
    const before = await rows();
    const stored = storedFiles(s).length;
    const boundary = "ab0rt";
    const req = http.request(`${s.url}/api/files/upload`, {
      method: "POST",
      headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "x-app-passport": passport },
    });
    req.on("error", () => {});
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.txt"\r\nContent-Type: text/plain\r\n\r\n`);
    req.write(Buffer.alloc(1000, 0x61));
    // The server has the part and is writing it: a temporary file exists.
    await waitFor(() => storedFiles(s).some((f) => f.endsWith(".part")));
    req.destroy();
    await waitFor(() => storedFiles(s).length === stored);
    expect(await rows()).toBe(before);
  });

  describe("signed URLs", () => {
    let file: Record<string, any>;
    let audio: Record<string, any>;
    const WAV = (() => {
      const data = Buffer.alloc(1000, 7);
      const h = Buffer.alloc(44);
      h.write("RIFF", 0); h.writeUInt32LE(36 + data.length, 4); h.write("WAVE", 8); h.write("fmt ", 12);
      h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22); h.writeUInt32LE(8000, 24);
      h.writeUInt32LE(8000, 28); h.writeUInt16LE(1, 32); h.writeUInt16LE(8, 34); h.write("data", 36); h.writeUInt32LE(data.length, 40);
      return Buffer.concat([h, data]);
    })();

    beforeAll(async () => {
      file = (await (await upload(form([{ name: "file", filename: "cat.png", body: PICTURE }]))).json()) as any;
      const res = await upload(form([{ name: "file", filename: "tune.wav", body: WAV }]), other);
      expect(res.status).toBe(201);
      audio = (await res.json()) as any;
    });

    const sign = (kind: string, id: string, timestamp: number, nonce = "n0nce") =>
      crypto.createHmac("sha256", TEST_SECRET).update(`${kind}|${id}|${timestamp}|${nonce}`).digest("base64url");
    const now = () => Math.floor(Date.now() / 1000);

    it("serves image-preview for pictures, signed the same way (Dify's padded base64 too)", async () => {
      const t = now();
      const res = await fetch(`${s.url}/files/${file.id}/image-preview?timestamp=${t}&nonce=n0nce&sign=${sign("image-preview", file.id, t)}=`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/png");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      // A file-preview signature does not open image-preview.
      const wrongKind = await fetch(`${s.url}/files/${file.id}/image-preview?timestamp=${t}&nonce=n0nce&sign=${sign("file-preview", file.id, t)}`);
      expect(wrongKind.status).toBe(403);
    });

    it("refuses tampered, expired, missing and other-id signatures with Dify's 403", async () => {
      const url = new URL(s.url + file.source_url);
      const t = Number(url.searchParams.get("timestamp"));
      const variants = [
        file.source_url.replace(/sign=./, (m: string) => m.slice(0, -1) + (m.endsWith("A") ? "B" : "A")),
        file.source_url.replace(`timestamp=${t}`, `timestamp=${t + 1}`),
        `/files/${file.id}/file-preview`,
        // Another user's file, under this file's signature: the id is inside what is signed.
        file.source_url.replace(file.id, audio.id),
        `/files/${file.id}/file-preview?timestamp=${now() - 61}&nonce=n0nce&sign=${sign("file-preview", file.id, now() - 61)}`,
      ];
      for (const v of variants) {
        const res = await fetch(s.url + v);
        expect(res.status, v).toBe(403);
        expect(await res.json()).toMatchObject({ code: "forbidden", status: 403 });
      }
      const t2 = now() - 30; // within FILES_ACCESS_TIMEOUT
      expect((await fetch(`${s.url}/files/${file.id}/file-preview?timestamp=${t2}&nonce=n0nce&sign=${sign("file-preview", file.id, t2)}`)).status).toBe(200);
    });

    it("answers ranges of audio with 206 and the right Content-Range", async () => {
      const url = s.url + audio.source_url;
      const whole = await fetch(url);
      expect(whole.headers.get("accept-ranges")).toBe("bytes");
      expect(whole.headers.get("content-type")).toBe(audio.mime_type);
      const part = await fetch(url, { headers: { range: "bytes=10-19" } });
      expect(part.status).toBe(206);
      expect(part.headers.get("content-range")).toBe(`bytes 10-19/${WAV.length}`);
      expect(Buffer.from(await part.arrayBuffer())).toEqual(WAV.subarray(10, 20));
      const tail = await fetch(url, { headers: { range: "bytes=-4" } });
      expect(Buffer.from(await tail.arrayBuffer())).toEqual(WAV.subarray(-4));
      const outside = await fetch(url, { headers: { range: `bytes=${WAV.length + 5}-` } });
      expect(outside.status).toBe(416);
      expect(outside.headers.get("content-range")).toBe(`bytes */${WAV.length}`);
    });

    it("serves a stored HTML page as an attachment that cannot run", async () => {
      const res = await upload(form([{ name: "file", filename: "page.html", body: "<script>alert(1)</script>" }]));
      const page = (await res.json()) as any;
      const served = await fetch(s.url + page.source_url);
      expect(served.headers.get("content-disposition")).toBe('attachment; filename="page.html"');
      expect(served.headers.get("content-security-policy")).toContain("sandbox");
    });
  });
});
