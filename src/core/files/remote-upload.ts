// Remote files (behaviour.md 2.6): a URL the user pastes is fetched by the gateway, through the
// outbound port (so under the deployment's SSRF policy, every redirect hop checked), HEAD first so that
// a declared size over the limit is refused unfetched, and stored like an upload. Whatever goes wrong on
// the way there (refused, unreachable, not 2xx) is the user's 400 `remote_file_upload_error`, never a 500.
import { PassThrough } from "node:stream";
import { AppError, invalidParam } from "../errors.js";
import type { OutboundFetch, OutboundResponse, OutboundStream, OutboundStreamResponse } from "../ports/outbound-fetch.js";
import type { Viewer } from "../auth/passport.service.js";
import { fetchRemoteFile, FileUnreadable } from "./file-contents.js";
import { kindOfExtension, mimeOfExtension } from "./file-kinds.js";
import { limitFor, type FilesConfig, type FilesService, type UploadRecord } from "./upload.service.js";

// Dify's remote fetches give up after a few seconds; a paste should not hold a request for long.
const TIMEOUT_MS = 10_000;

function httpUrl(value: unknown): string {
  if (typeof value !== "string" || !value) throw invalidParam("url is required.", "url");
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw invalidParam("url must be an http(s) URL.", "url");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw invalidParam("url must be an http(s) URL.", "url");
  return parsed.toString();
}

const failed = (url: string, why: string) => new AppError("remote_file_upload_error", 400, `Failed to fetch file from ${url}: ${why}`);

const tooLarge = (maxBytes: number) => new AppError("file_too_large", 413, `File size exceeded. The remote file is larger than ${maxBytes} bytes.`);

async function fetchOrFail(fetch: OutboundFetch, url: string, method: "GET" | "HEAD", maxBytes: number, timeoutMs = TIMEOUT_MS): Promise<OutboundResponse> {
  try {
    return await fetchRemoteFile(fetch, url, { method, maxBytes, timeoutMs });
  } catch (err) {
    if (!(err instanceof FileUnreadable)) throw err;
    throw err.reason === "too_large" ? tooLarge(maxBytes) : failed(url, err.message);
  }
}

/**
 * GET, its body streamed (never held whole): a 2xx head, or the 400 / 413 this API words; errors while the
 * body is read come worded alike. Destroying the body ends the exchange.
 */
async function streamOrFail(stream: OutboundStream, url: string, maxBytes: number, timeoutMs: number): Promise<OutboundStreamResponse> {
  const worded = (err: unknown) => (!(err instanceof AppError) ? err : err.code === "response_too_large" ? tooLarge(maxBytes) : failed(url, err.message));
  let res: OutboundStreamResponse;
  try {
    res = await stream(url, { method: "GET" }, { maxBytes, timeoutMs });
  } catch (err) {
    throw worded(err);
  }
  if (res.status < 200 || res.status > 299) {
    res.body.destroy();
    throw failed(url, `${res.url} answered ${res.status} ${res.statusText}`.trim() + ".");
  }
  const body = new PassThrough();
  res.body.on("error", (err) => body.destroy(worded(err) as Error));
  body.on("close", () => res.body.destroy());
  return { ...res, body: res.body.pipe(body) };
}

/**
 * HEAD before GET: a declared length over `maxBytes` is refused before any of the body is fetched. A
 * server that refuses HEAD (any status but 200) or declares no length is simply asked with GET; one
 * that cannot be reached at all fails here, as the GET would.
 */
async function refuseDeclaredTooLarge(fetch: OutboundFetch, url: string, maxBytes: number, timeoutMs: number): Promise<void> {
  let res: OutboundResponse;
  try {
    res = await fetch(url, { method: "HEAD" }, { timeoutMs, maxBytes });
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    throw failed(url, err.message);
  }
  const declared = Number(res.headers["content-length"]);
  if (res.status === 200 && /^\d+$/.test(res.headers["content-length"] ?? "") && declared > maxBytes) throw tooLarge(maxBytes);
}

/** The file's name: Content-Disposition's, else the URL's last segment; an extension from the type if it has none. */
function nameOf(res: Pick<OutboundResponse, "headers" | "url">, type: string): string {
  const disposition = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(res.headers["content-disposition"] ?? "");
  let name = disposition?.[1] ?? new URL(res.url).pathname.split("/").pop() ?? "";
  try {
    name = decodeURIComponent(name);
  } catch {
    // kept as sent
  }
  name = name.replace(/[\u0000-\u001f]/g, "") || "file";
  if (!name.includes(".")) {
    const ext = Object.entries({ png: "image/png", jpg: "image/jpeg", gif: "image/gif", webp: "image/webp", pdf: "application/pdf", txt: "text/plain", html: "text/html", mp3: "audio/mpeg", mp4: "video/mp4" }).find(([, m]) => m === type)?.[0];
    if (ext) name = `${name}.${ext}`;
  }
  return name;
}

export function remoteFiles(deps: { fetch: OutboundFetch; stream: OutboundStream; files: FilesService; config: FilesConfig }) {
  const largest = Math.max(...Object.values(deps.config.limits));
  return {
    /** GET /remote-files/<url>: the type and length the server declares (HEAD, else GET). */
    async info(_viewer: Viewer, value: unknown): Promise<{ fileType: string; fileLength: number }> {
      const url = httpUrl(value);
      let res: Pick<OutboundResponse, "headers">;
      try {
        res = await fetchOrFail(deps.fetch, url, "HEAD", largest);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== "remote_file_upload_error") throw err;
        // Only the head is wanted: the body is not read.
        const got = await streamOrFail(deps.stream, url, largest, TIMEOUT_MS);
        got.body.destroy();
        res = got;
      }
      const length = Number(res.headers["content-length"] ?? NaN);
      return { fileType: res.headers["content-type"] || "application/octet-stream", fileLength: Number.isFinite(length) ? length : -1 };
    },
    /** POST /remote-files/upload: fetch and store, as an upload by remote_url. */
    async upload(viewer: Viewer, value: unknown): Promise<UploadRecord> {
      const url = httpUrl(value);
      // Capped at the limit of the kind the URL names (the largest if none); the upload holds the real kind to its own.
      const urlExt = (new URL(url).pathname.split("/").pop() ?? "").split(".").slice(1).pop() ?? "";
      const cap = urlExt && kindOfExtension(urlExt) !== "custom" ? limitFor(deps.config.limits, kindOfExtension(urlExt)) : largest;
      // One time cap for both requests, every redirect hop of each checked by the outbound port.
      const deadline = Date.now() + TIMEOUT_MS;
      await refuseDeclaredTooLarge(deps.fetch, url, cap, TIMEOUT_MS);
      const res = await streamOrFail(deps.stream, url, cap, Math.max(1, deadline - Date.now()));
      const type = (res.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
      const filename = nameOf(res, type);
      const ext = filename.includes(".") ? filename.split(".").pop()! : "";
      return deps.files.upload(viewer, {
        filename,
        body: res.body,
        declaredType: mimeOfExtension(ext) ? undefined : type || undefined,
        transferMethod: "remote_url",
        sourceUrl: url,
      });
    },
  };
}

export type RemoteFilesService = ReturnType<typeof remoteFiles>;
