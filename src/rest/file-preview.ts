// Signed file URLs, served beside /api as Dify's separate /files blueprint serves them:
// GET /files/<id>/file-preview|image-preview?timestamp&nonce&sign, with Range support (206) so audio
// and video can seek. Uploaded bytes are served as inert: nosniff and a sandboxing CSP, so an uploaded
// HTML or SVG file cannot run script on the gateway's origin.
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import rangeParser from "range-parser";
import contentDisposition from "content-disposition";
import type { Services } from "../core/services.js";
import { AppError } from "../core/errors.js";
import { writeError } from "./http.js";

const PREVIEW = /^\/files\/([^/]+)\/(file-preview|image-preview)$/;

// Types a browser shows rather than saves; anything else is an attachment.
const INLINE = /^(image\/(?!svg)|audio\/|video\/|application\/pdf$|text\/plain$)/;

/** Whether `path` is a signed file URL; serves it when it is. */
export async function serveFilePreview(services: Services, req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
  const m = PREVIEW.exec(url.pathname);
  if (!m) return false;
  try {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD, OPTIONS");
      throw new AppError("method_not_allowed", 405, "The method is not allowed for the requested URL.");
    }
    const q = url.searchParams;
    const kind = m[2] as "file-preview" | "image-preview";
    const { file, open } = await services.files.preview(kind, m[1], { timestamp: q.get("timestamp"), nonce: q.get("nonce"), sign: q.get("sign") });
    const type = file.mimeType || "application/octet-stream";
    const asAttachment = q.get("as_attachment") === "true" || !INLINE.test(type);
    const headers: Record<string, string | number> = {
      "Content-Type": type,
      "Content-Disposition": contentDisposition(file.name, { type: asAttachment ? "attachment" : "inline" }),
      "Accept-Ranges": "bytes",
      "X-Content-Type-Options": "nosniff",
      "Content-Security-Policy": "sandbox; default-src 'none'",
      "Cache-Control": "private, max-age=300",
    };
    let status = 200;
    let range: { start: number; end: number } | undefined;
    const header = req.headers.range;
    if (header) {
      const ranges = rangeParser(file.size, header, { combine: true });
      if (ranges === -1) {
        res.writeHead(416, { "Content-Range": `bytes */${file.size}` });
        res.end();
        return true;
      }
      // One range only (a media player's seek); several, or a malformed header, get the whole file.
      if (ranges !== -2 && ranges.type === "bytes" && ranges.length === 1) {
        range = ranges[0];
        status = 206;
        headers["Content-Range"] = `bytes ${range.start}-${range.end}/${file.size}`;
      }
    }
    headers["Content-Length"] = range ? range.end - range.start + 1 : file.size;
    if (req.method === "HEAD") {
      res.writeHead(status, headers);
      res.end();
      return true;
    }
    const object = await open(range);
    res.writeHead(status, headers);
    await pipeline(object.body, res).catch(() => res.destroy());
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    if (res.headersSent) res.destroy();
    else writeError(res, err);
  }
  return true;
}
