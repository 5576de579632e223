// Images reach a model as data URLs of bytes the gateway holds or fetched itself: a stored upload from
// storage, a URL the user named through the outbound port (so under the deployment's outbound policy:
// private, loopback, link-local and metadata destinations refused unless OUTBOUND_ALLOW names them).
// Handing a URL on would let a self-hosted vision model fetch it from inside the network
// (vLLM CVE-2025-6242). Use cases read the images before anything is written, so a refused or broken
// one is the request's 4xx.
import { AppError } from "../errors.js";
import type { ChatMessage, ContentPart } from "../ports/model.js";
import { FileUnreadable, type FileContents } from "./file-contents.js";
import { isFileValue, type FileValue } from "./file-refs.js";

export type RemoteFileLimits = {
  /** Largest image, in bytes (Dify's UPLOAD_IMAGE_FILE_SIZE_LIMIT is 10 MB). */
  maxBytes: number;
  /** The whole fetch of one remote file, redirects and body included. */
  timeoutMs: number;
};

export const DEFAULT_REMOTE_FILE_LIMITS: RemoteFileLimits = { maxBytes: 10 * 1024 * 1024, timeoutMs: 10_000 };

/** A file of a request, with the field that named it (for the error's `params`). */
export type NamedFile = { field: string; file: FileValue };

// Pictures only: SVG is a document that can name further URLs, not something a vision model sees.
const IMAGE_TYPE = /^image\/(?!svg)[a-z0-9.+-]+$/;

/** The image files among `value` (a file or a list of them), named after `field`. */
export function namedImages(value: unknown, field: string): NamedFile[] {
  const isImage = (v: unknown): v is FileValue => isFileValue(v) && v.type === "image";
  if (Array.isArray(value)) return value.flatMap((file, i) => (isImage(file) ? [{ field: `${field}[${i}]`, file }] : []));
  return isImage(value) ? [{ field, file: value }] : [];
}

/** The images among `value` as a model is shown them: image parts naming each by its URL (inlined later). */
export function imagesOf(value: unknown): FileValue[] {
  return namedImages(value, "").map((n) => n.file);
}

/** One request's (or run's) images: each read once, kept as a data URL. */
export class ModelImages {
  private readonly read = new Map<string, Promise<string>>();

  constructor(
    /** How the images' bytes are read (also what a run's other file readers use). */
    readonly contents: FileContents,
    private readonly limits: RemoteFileLimits = DEFAULT_REMOTE_FILE_LIMITS,
  ) {}

  /** Read these images now; rejects with the first failure's 4xx. */
  async prefetch(images: NamedFile[]): Promise<void> {
    await Promise.all(images.map(({ field, file }) => this.dataUrl(file, field)));
  }

  /**
   * `messages` with the image parts naming one of `files` (by URL) given that file's bytes as a data
   * URL. A part naming no file of theirs is dropped: nothing but the request's files reaches the model.
   */
  async inline(messages: ChatMessage[], files: FileValue[], signal?: AbortSignal): Promise<ChatMessage[]> {
    if (messages.every((m) => typeof m.content === "string")) return messages; // no images: most prompts
    const byUrl = new Map(files.map((f) => [f.url, f]));
    return Promise.all(
      messages.map(async (m) => {
        if (typeof m.content === "string") return m;
        const parts = await Promise.all(
          m.content.map(async (part): Promise<ContentPart | null> => {
            if (part.type !== "image_url" || part.image_url.url.startsWith("data:")) return part;
            const file = byUrl.get(part.image_url.url);
            return file ? { type: "image_url", image_url: { ...part.image_url, url: await this.dataUrl(file, "files", signal) } } : null;
          }),
        );
        return { ...m, content: parts.filter((p): p is ContentPart => p !== null) };
      }),
    );
  }

  private dataUrl(file: FileValue, field: string, signal?: AbortSignal): Promise<string> {
    const key = file.related_id ?? file.url;
    let pending = this.read.get(key);
    if (!pending) {
      pending = this.load(file, field, signal);
      pending.catch(() => {}); // the caller that asked sees the failure; a second asker, the same one
      this.read.set(key, pending);
    }
    return pending;
  }

  private async load(file: FileValue, field: string, signal?: AbortSignal): Promise<string> {
    let read;
    try {
      read = await this.contents.read(file, { ...this.limits, signal, accept: "image/*" });
    } catch (err) {
      if (!(err instanceof FileUnreadable)) throw err;
      if (err.reason === "too_large") throw new AppError("file_too_large", 413, `${field}: the image is larger than ${this.limits.maxBytes} bytes.`, field);
      throw new AppError("remote_file_upload_error", 400, `${field}: could not fetch the remote file: ${err.message}`, field);
    }
    const type = (read.mimeType ?? "").toLowerCase();
    if (!IMAGE_TYPE.test(type)) {
      throw new AppError("unsupported_file_type", 415, `${field}: the file is ${type ? JSON.stringify(type) : "of no declared type"}, not an image.`, field);
    }
    return `data:${type};base64,${read.bytes.toString("base64")}`;
  }
}
