// The document-extractor executor's own rules, on a real variable pool, reader, database, storage and
// outbound client: what counts as a file variable (Dify's messages for the rest), empty inputs, an
// upload that is not the run's end user's, and the fetch's size cap. test/files/document-extractor.test.ts
// runs it in a real server, uploads included.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Viewer } from "../../src/core/auth/passport.service.js";
import { FileContents } from "../../src/core/files/file-contents.js";
import { openDatabase, type Database } from "../../src/db/client.js";
import { LocalDiskStorage } from "../../src/providers/storage/local-disk.js";
import type { NodeContext } from "../../src/core/workflows/engine.js";
import { documentExtractor } from "../../src/core/workflows/nodes/document-extractor.js";
import { VariablePool } from "../../src/core/workflows/variable-pool.js";
import { DocumentTextReader } from "../../src/providers/documents/index.js";
import { safeFetch } from "../../src/providers/http/safe-fetch.js";
import { startFileServer, type FileServer } from "../support/file-server.js";

const file = (url: string, extra: object = {}) => ({
  dify_model_identity: "__dify__file__", id: null, type: "document", transfer_method: "remote_url", remote_url: url, url,
  related_id: null, filename: url.split("/").pop(), extension: ".txt", mime_type: null, size: -1, ...extra,
});

describe("document-extractor executor", () => {
  let files: FileServer;
  let dir: string;
  let database: Database;
  let run: ReturnType<typeof documentExtractor>;
  const reader = new DocumentTextReader({ maxInputBytes: 16 });
  // Nobody in particular: no upload in the database is theirs.
  const stranger = { app: { id: "00000000-0000-4000-8000-00000000000a" }, endUser: { id: "00000000-0000-4000-8000-00000000000b" } } as Viewer;
  const extract = (values: Record<string, unknown>, selector = ["start", "doc"]) =>
    run({ node: { id: "x", type: "document-extractor", title: "X", data: { variable_selector: selector }, parentId: null }, pool: new VariablePool({ start: values }), signal: new AbortController().signal } as unknown as NodeContext);
  const failure = (p: Promise<unknown>) => p.then(() => null, (e) => ({ message: e.message, type: e.errorType }));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-extractor-"));
    database = await openDatabase({ kind: "pglite", dir });
    await database.migrate();
    const fetch = (url: string, init: Parameters<typeof safeFetch>[1], limits?: object) => safeFetch(url, init, { ...limits, allow: ["127.0.0.2"] });
    const contents = new FileContents({ db: database.db, storage: new LocalDiskStorage(dir), fetch }, stranger);
    run = documentExtractor({ documents: reader, files: contents, fetchTimeoutMs: 5000 });
    files = await startFileServer("127.0.0.2", { "/a.txt": { type: "text/plain", body: "alpha" }, "/big.txt": { type: "text/plain", body: "x".repeat(17) } });
  });
  afterAll(async () => {
    await files?.close();
    await reader.close();
    await database?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reads a file to a string and a list to strings, skipping empty entries", async () => {
    expect((await extract({ doc: file(files.url("/a.txt")) })).outputs).toEqual({ text: "alpha" });
    const list = await extract({ doc: [null, file(files.url("/a.txt")), file(files.url("/a.txt"))] });
    expect(list.outputs).toEqual({ text: ["alpha", "alpha"] });
    expect(list.inputs).toEqual({ variable_selector: ["start", "doc"] });
  });

  it("gives no text for no file, and an empty list for an empty one", async () => {
    expect((await extract({ doc: null })).outputs).toEqual({ text: [] });
    expect((await extract({ doc: [] })).outputs).toEqual({ text: [] });
  });

  it("fails with Dify's messages for a missing variable and one that holds no files", async () => {
    expect(await failure(extract({}, ["start", "nothing"]))).toEqual({ message: "File variable not found for selector: ['start', 'nothing']", type: "DocumentExtractorError" });
    expect(await failure(extract({ doc: "a string" }))).toEqual({ message: "Variable ['start', 'doc'] is not an ArrayFileSegment", type: "DocumentExtractorError" });
  });

  it("fails on an upload that is not the run's end user's, and on a remote file over the reader's size cap", async () => {
    const local = await failure(extract({ doc: file("", { transfer_method: "local_file", related_id: "00000000-0000-4000-8000-000000000000" }) }));
    expect(local).toEqual({ message: "Error downloading file: the uploaded file is not available.", type: "FileDownloadError" });
    expect(await failure(extract({ doc: file(files.url("/big.txt")) }))).toEqual({ message: "Error downloading file: the file is larger than 16 bytes.", type: "FileDownloadError" });
  });
});
