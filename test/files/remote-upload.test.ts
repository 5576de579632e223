// Remote files (behaviour.md 2.6): a pasted URL is fetched through the outbound policy and stored like
// an upload; refused, unreachable and non-200 URLs are 400 remote_file_upload_error, on both surfaces.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFileServer, type FileServer } from "../support/file-server.js";
import { PICTURE, startImageServer, type ImageServer } from "../support/image-server.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { storedFiles } from "../support/uploads.js";

const REMOTE = `mutation($url: String!) { uploadRemoteFile(url: $url) { __typename ... on UploadRemoteFilePayload { file { id name size mimeType url } } ... on AppError { code status message } } }`;

async function closedPort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("remote file uploads", () => {
  let images: ImageServer;
  let loopback: ImageServer;
  let files: FileServer; // what HEAD says varies
  let s: TestServer;
  let passport: string;

  beforeAll(async () => {
    // 127.0.0.2 is allowed; 127.0.0.1 (loopback) stays refused.
    images = await startImageServer("127.0.0.2");
    loopback = await startImageServer("127.0.0.1");
    files = await startFileServer("127.0.0.2", {
      // HEAD declares 1 MiB, over the 8 KiB image limit; GET would serve a small picture.
      "/declared-huge.png": { type: "image/png", body: PICTURE, head: { length: 1024 * 1024 } },
      "/head-refused.png": { type: "image/png", body: PICTURE, head: { status: 405 } },
      "/head-no-length.png": { type: "image/png", body: PICTURE, head: { length: null } },
    });
    s = await startTestServer("pglite", { OUTBOUND_ALLOW: "127.0.0.2", UPLOAD_IMAGE_FILE_SIZE_LIMIT: String(8 / 1024) });
    passport = await s.passport((await s.importApp("apps/chat-file-uploads.yml")).code);
  });
  afterAll(async () => {
    await s?.close();
    await images?.close();
    await loopback?.close();
    await files?.close();
  });
  const callsTo = (path: string) => files.calls.filter((c) => c.path === path).map((c) => c.method);

  const post = (url: unknown) =>
    s.api("/remote-files/upload", { method: "POST", passport, headers: { "content-type": "application/json" }, body: JSON.stringify({ url }) });

  it("stores a remote picture: 201 in Dify's shape, a signed URL, the source URL on the row", async () => {
    const res = await post(images.url("/cat.png"));
    expect(res.status).toBe(201);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ name: "cat.png", size: PICTURE.length, extension: "png", mime_type: "image/png" });
    expect(Number.isInteger(body.created_at)).toBe(true);
    const served = await fetch(s.url + body.url);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(PICTURE);
    const row = await s.rt.db.uploadFile.findUniqueOrThrow({ where: { id: body.id } });
    expect(row.sourceUrl).toBe(images.url("/cat.png"));
  });

  it("answers refused, unreachable and non-200 URLs with 400 remote_file_upload_error, storing nothing", async () => {
    const before = await s.rt.db.uploadFile.count();
    const stored = storedFiles(s).length;
    const port = await closedPort("127.0.0.2");
    for (const url of [loopback.url("/cat.png"), images.url("/missing.png"), `http://127.0.0.2:${port}/cat.png`, images.url(`/redirect?to=${encodeURIComponent(loopback.url("/cat.png"))}`)]) {
      const res = await post(url);
      expect(res.status, url).toBe(400);
      expect(await res.json()).toMatchObject({ code: "remote_file_upload_error", status: 400 });
    }
    expect(loopback.requests).toEqual([]);
    for (const bad of ["ftp://127.0.0.2/x.png", "not a url", 42]) {
      const res = await post(bad);
      expect(await res.json()).toMatchObject({ code: "invalid_param", status: 400 });
    }
    const big = await post(images.url("/huge.png"));
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: "file_too_large" });
    expect(await s.rt.db.uploadFile.count()).toBe(before);
    expect(storedFiles(s)).toHaveLength(stored);
  });

  it("asks HEAD first: a declared length over the limit is 413 file_too_large without the GET", async () => {
    const before = await s.rt.db.uploadFile.count();
    const res = await post(files.url("/declared-huge.png"));
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "file_too_large", status: 413, message: "File size exceeded. The remote file is larger than 8192 bytes." });
    expect(callsTo("/declared-huge.png")).toEqual(["HEAD"]);
    expect(await s.rt.db.uploadFile.count()).toBe(before);
  });

  it("GETs when HEAD is refused or declares no length", async () => {
    for (const path of ["/head-refused.png", "/head-no-length.png"]) {
      const res = await post(files.url(path));
      expect(res.status, path).toBe(201);
      expect(((await res.json()) as any).size, path).toBe(PICTURE.length);
      expect(callsTo(path), path).toEqual(["HEAD", "GET"]);
    }
  });

  it("names a file after where the redirects ended (page.html), and stores it as a document", async () => {
    const res = await post(images.url(`/redirect?to=${encodeURIComponent(images.url("/page.html"))}`));
    expect(res.status).toBe(201);
    expect(((await res.json()) as any).name).toBe("page.html");
  });

  it("GET /remote-files/<url> answers the declared type and length", async () => {
    const res = await s.api(`/remote-files/${encodeURIComponent(images.url("/cat.png"))}`, { passport });
    expect(await res.json()).toEqual({ file_type: "image/png", file_length: PICTURE.length });
    const missing = await s.api(`/remote-files/${encodeURIComponent(images.url("/missing.png"))}`, { passport });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ code: "remote_file_upload_error" });
    const refused = await s.api(`/remote-files/${encodeURIComponent(loopback.url("/cat.png"))}`, { passport });
    expect(await refused.json()).toMatchObject({ code: "remote_file_upload_error", status: 400 });
  });

  it("uploadRemoteFile on GraphQL: the same file, the same errors", async () => {
    const ok = await s.graphql(REMOTE, { url: images.url("/cat.png") }, { "x-app-passport": passport });
    expect(ok.data!.uploadRemoteFile.file).toMatchObject({ name: "cat.png", size: PICTURE.length, mimeType: "image/png" });
    const refused = await s.graphql(REMOTE, { url: loopback.url("/cat.png") }, { "x-app-passport": passport });
    expect(refused.data!.uploadRemoteFile).toMatchObject({ __typename: "AppError", code: "remote_file_upload_error", status: 400 });
    const big = await s.graphql(REMOTE, { url: images.url("/huge.png") }, { "x-app-passport": passport });
    expect(big.data!.uploadRemoteFile).toMatchObject({ __typename: "AppError", code: "file_too_large", status: 413 });
    const calls = callsTo("/declared-huge.png").length;
    const declared = await s.graphql(REMOTE, { url: files.url("/declared-huge.png") }, { "x-app-passport": passport });
    expect(declared.data!.uploadRemoteFile).toMatchObject({ __typename: "AppError", code: "file_too_large", status: 413 });
    expect(callsTo("/declared-huge.png").slice(calls)).toEqual(["HEAD"]);
  });
});
