// GraphQL uploads: the multipart request spec into `uploadFile`, with the REST endpoint's limits and
// errors (as AppError results), a CSRF header required, and the same leave-nothing-behind guarantees.
import crypto from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PICTURE } from "../support/image-server.js";
import { waitFor } from "../support/sse.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { storedFiles } from "../support/uploads.js";

// The GraphQL body cap below the file limit: an upload's body may pass it, a JSON body may not.
const LIMITS = { UPLOAD_IMAGE_FILE_SIZE_LIMIT: String(2 / 1024), UPLOAD_FILE_SIZE_LIMIT: String(4 / 1024), GRAPHQL_MAX_BODY_BYTES: "2048" };
const ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(120)]);
const UPLOAD = `mutation($file: Upload!) { uploadFile(file: $file) { __typename ... on UploadFilePayload { file { id name size extension mimeType url createdAt } } ... on AppError { code status message } } }`;

describe.each(backends)("GraphQL uploadFile (%s)", (backend) => {
  let s: TestServer;
  let passport: string;
  let imagesOnly: string;

  beforeAll(async () => {
    s = await startTestServer(backend, LIMITS);
    passport = await s.passport((await s.importApp("apps/chat-file-uploads.yml")).code);
    imagesOnly = await s.passport((await s.importApp("apps/chat-travel-planner.yml")).code);
  });
  afterAll(() => s?.close());

  const send = async (filename: string, body: Buffer | string, opts: { passport?: string | null; headers?: Record<string, string>; extraFile?: boolean } = {}) => {
    const fd = new FormData();
    fd.append("operations", JSON.stringify({ query: UPLOAD, variables: { file: null } }));
    fd.append("map", JSON.stringify(opts.extraFile ? { 0: ["variables.file"], 1: ["variables.other"] } : { 0: ["variables.file"] }));
    fd.append("0", new Blob([typeof body === "string" ? body : new Uint8Array(body)]), filename);
    if (opts.extraFile) fd.append("1", new Blob(["x"]), "b.txt");
    const headers: Record<string, string> = { "graphql-preflight": "1", ...opts.headers };
    const who = opts.passport === undefined ? passport : opts.passport;
    if (who) headers["x-app-passport"] = who;
    const res = await fetch(`${s.url}/graphql`, { method: "POST", body: fd, headers });
    return { status: res.status, body: (await res.json()) as any };
  };

  it("stores a file and answers a typed File with a signed URL", async () => {
    const { status, body } = await send("cat.png", PICTURE);
    expect(status).toBe(200);
    const file = body.data.uploadFile.file;
    expect(file).toMatchObject({ name: "cat.png", size: PICTURE.length, extension: "png", mimeType: "image/png" });
    const row = await s.rt.db.uploadFile.findUniqueOrThrow({ where: { id: file.id } });
    expect(row.hash).toBe(crypto.createHash("sha3-256").update(PICTURE).digest("hex"));
    const served = await fetch(s.url + file.url);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(PICTURE);
  });

  it("answers the REST endpoint's errors as AppError results, storing nothing", async () => {
    const before = await s.rt.db.uploadFile.count();
    const stored = storedFiles(s).length;
    const cases: [string, Buffer | string, string, number, string | null][] = [
      ["big.png", Buffer.concat([PICTURE, Buffer.alloc(3000)]), "file_too_large", 413, passport],
      ["big.txt", Buffer.alloc(5000, 0x61), "file_too_large", 413, passport],
      ["cat.png", ELF, "unsupported_file_type", 415, passport],
      ["run.exe", "MZ", "invalid_param", 400, passport],
      ["notes.md", "# hi", "unsupported_file_type", 415, imagesOnly],
    ];
    for (const [filename, body, code, status, who] of cases) {
      const res = await send(filename, body, { passport: who });
      expect(res.body.data.uploadFile, filename).toMatchObject({ __typename: "AppError", code, status });
    }
    const anonymous = await send("a.txt", "x", { passport: null });
    expect(anonymous.body.data.uploadFile).toMatchObject({ __typename: "AppError", code: "unauthorized", status: 401 });
    expect(await s.rt.db.uploadFile.count()).toBe(before);
    expect(storedFiles(s)).toHaveLength(stored);
  });

  it("takes a file whose body is over GRAPHQL_MAX_BODY_BYTES (uploads have their own limits), unlike a JSON body", async () => {
    const data = crypto.randomBytes(3500); // under the 4 KiB file limit, over the 2 KiB body cap
    const { status, body } = await send("data.dat", data);
    expect(status).toBe(200);
    expect(body.data.uploadFile.file).toMatchObject({ name: "data.dat", size: data.length });
    const json = JSON.stringify({ query: `{ __typename }`, variables: { pad: "x".repeat(3000) } });
    const declared = await fetch(`${s.url}/graphql`, { method: "POST", body: json, headers: { "content-type": "application/json" } });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as any).errors[0].extensions.code).toBe("REQUEST_ENTITY_TOO_LARGE");
    // No Content-Length (chunked): counted as it comes.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${s.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on("error", reject);
      req.write(json.slice(0, 1000));
      req.end(json.slice(1000));
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).errors[0].extensions.code).toBe("REQUEST_ENTITY_TOO_LARGE");
  });

  it("refuses a multipart request without a CSRF header, and more than one file", async () => {
    const fd = new FormData();
    fd.append("operations", JSON.stringify({ query: UPLOAD, variables: { file: null } }));
    fd.append("map", JSON.stringify({ 0: ["variables.file"] }));
    fd.append("0", new Blob(["x"]), "a.txt");
    const res = await fetch(`${s.url}/graphql`, { method: "POST", body: fd, headers: { "x-app-passport": passport } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).errors[0].extensions.code).toBe("BAD_REQUEST");
    const two = await send("a.txt", "x", { extraFile: true });
    expect(two.status).toBe(413);
    expect(two.body.errors[0].extensions.code).toBe("BAD_REQUEST");
  });

  it("leaves neither file nor row when the client goes away mid-upload", async () => {
    const before = await s.rt.db.uploadFile.count();
    const stored = storedFiles(s).length;
    const boundary = "ab0rt";
    const req = http.request(`${s.url}/graphql`, {
      method: "POST",
      headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "x-app-passport": passport, "graphql-preflight": "1" },
    });
    req.on("error", () => {});
    const field = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    req.write(field("operations", JSON.stringify({ query: UPLOAD, variables: { file: null } })) + field("map", JSON.stringify({ 0: ["variables.file"] })));
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="half.txt"\r\nContent-Type: text/plain\r\n\r\n`);
    req.write(Buffer.alloc(1000, 0x61));
    await waitFor(() => storedFiles(s).some((f) => f.endsWith(".part")));
    req.destroy();
    await waitFor(() => storedFiles(s).length === stored);
    expect(await s.rt.db.uploadFile.count()).toBe(before);
  });
});
