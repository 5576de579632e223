// The bytes of a File value, the one way every reader gets them (model images, document extraction):
// a stored file from storage, looked up as the run's or request's end user's own upload; a bare URL
// fetched through the outbound port, so under the deployment's outbound policy. Callers turn
// `FileUnreadable` into their own error (a request's 4xx, a node's failure).
import type { Viewer } from "../auth/passport.service.js";
import { AppError } from "../errors.js";
import type { Db } from "../ports/database.js";
import type { FileStorage } from "../ports/file-storage.js";
import type { OutboundFetch, OutboundResponse } from "../ports/outbound-fetch.js";
import type { FileValue } from "./file-refs.js";

export class FileUnreadable extends Error {
  constructor(
    readonly reason: "too_large" | "unreachable",
    message: string,
  ) {
    super(message);
  }
}

export type FileBytes = { bytes: Buffer; mimeType: string | null };

export type ReadOptions = { maxBytes: number; timeoutMs: number; signal?: AbortSignal; accept?: string };

/** GET `url` through the outbound port: a 2xx answer, or FileUnreadable saying why not. */
export async function fetchRemoteFile(fetch: OutboundFetch, url: string, opts: ReadOptions & { method?: "GET" | "HEAD" }): Promise<OutboundResponse> {
  let res: OutboundResponse;
  try {
    const headers = opts.accept ? { accept: opts.accept } : undefined;
    res = await fetch(url, { method: opts.method ?? "GET", headers, signal: opts.signal }, { maxBytes: opts.maxBytes, timeoutMs: opts.timeoutMs });
  } catch (err) {
    if (!(err instanceof AppError)) throw err; // an abort, or a fault of ours
    if (err.code === "response_too_large") throw new FileUnreadable("too_large", `the file is larger than ${opts.maxBytes} bytes.`);
    throw new FileUnreadable("unreachable", err.message);
  }
  if (res.status < 200 || res.status > 299) throw new FileUnreadable("unreachable", `${res.url} answered ${res.status} ${res.statusText}`.trim() + ".");
  return res;
}

export type FileContentsDeps = { db: Db; storage: FileStorage; fetch: OutboundFetch };

/** Reads the files of one end user's request or run. */
export class FileContents {
  constructor(
    private readonly deps: FileContentsDeps,
    private readonly owner: Viewer,
  ) {}

  async read(file: FileValue, opts: ReadOptions): Promise<FileBytes> {
    if (file.related_id) return this.stored(file.related_id, opts.maxBytes);
    if (!file.remote_url) throw new FileUnreadable("unreachable", "the file has no URL.");
    const res = await fetchRemoteFile(this.deps.fetch, file.remote_url, opts);
    return { bytes: res.body, mimeType: file.mime_type ?? ((res.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase() || null) };
  }

  private async stored(id: string, maxBytes: number): Promise<FileBytes> {
    const row = await this.deps.db.uploadFile.findFirst({ where: { id, appId: this.owner.app.id, createdBy: this.owner.endUser.id } });
    if (!row) throw new FileUnreadable("unreachable", "the uploaded file is not available.");
    if (row.size > maxBytes) throw new FileUnreadable("too_large", `the file is larger than ${maxBytes} bytes.`);
    const object = await this.deps.storage.get(row.key);
    if (!object) throw new FileUnreadable("unreachable", "the uploaded file's bytes are gone.");
    const chunks: Buffer[] = [];
    for await (const chunk of object.body) chunks.push(chunk as Buffer);
    return { bytes: Buffer.concat(chunks), mimeType: row.mimeType };
  }
}
