// Images that users name by URL (`remote_url` files) reach a model as data URLs the gateway fetched
// itself, through the outbound port and so under the deployment's outbound policy (private, loopback,
// link-local and metadata destinations refused unless OUTBOUND_ALLOW names them). Handing the URL on
// would let a self-hosted vision model fetch it from inside the network (vLLM CVE-2025-6242).
// Use cases fetch before anything is written, so a refused or broken URL is the request's 4xx.
import { AppError } from "../errors.js";
import type { ChatMessage, ContentPart } from "../ports/model.js";
import type { OutboundFetch } from "../ports/outbound-fetch.js";
import type { FileValue } from "./file-refs.js";

export type RemoteFileLimits = {
  /** Largest file, in bytes (Dify's UPLOAD_IMAGE_FILE_SIZE_LIMIT is 10 MB). */
  maxBytes: number;
  /** The whole fetch of one file, redirects and body included. */
  timeoutMs: number;
};

export const DEFAULT_REMOTE_FILE_LIMITS: RemoteFileLimits = { maxBytes: 10 * 1024 * 1024, timeoutMs: 10_000 };

/** A file of a request, with the field that named it (for the error's `params`). */
export type NamedFile = { field: string; file: FileValue };

// Pictures only: SVG is a document that can name further URLs, not something a vision model sees.
const IMAGE_TYPE = /^image\/(?!svg)[a-z0-9.+-]+$/;

/** The image files among `value` (a file or a list of them), named after `field`. */
export function namedImages(value: unknown, field: string): NamedFile[] {
  const isImage = (v: unknown): v is FileValue =>
    !!v && typeof v === "object" && (v as FileValue).dify_model_identity === "__dify__file__" && (v as FileValue).type === "image";
  if (Array.isArray(value)) return value.flatMap((file, i) => (isImage(file) ? [{ field: `${field}[${i}]`, file }] : []));
  return isImage(value) ? [{ field, file: value }] : [];
}

/** One request's (or run's) remote images: each URL fetched once, kept as a data URL. */
export class RemoteImages {
  private readonly fetched = new Map<string, Promise<string>>();

  constructor(
    private readonly fetch: OutboundFetch,
    private readonly limits: RemoteFileLimits = DEFAULT_REMOTE_FILE_LIMITS,
  ) {}

  /** Fetch these images now; rejects with the first failure's 4xx. */
  async prefetch(images: NamedFile[]): Promise<void> {
    await Promise.all(images.map(({ field, file }) => this.dataUrl(file.url, field)));
  }

  /** `messages` with every image part's URL replaced by a data URL of what it names (fetched if need be). */
  async inline(messages: ChatMessage[], signal?: AbortSignal): Promise<ChatMessage[]> {
    if (messages.every((m) => typeof m.content === "string")) return messages; // no images: most prompts
    return Promise.all(
      messages.map(async (m) => {
        if (typeof m.content === "string") return m;
        const parts = await Promise.all(
          m.content.map(async (part): Promise<ContentPart> => {
            if (part.type !== "image_url" || part.image_url.url.startsWith("data:")) return part;
            return { type: "image_url", image_url: { ...part.image_url, url: await this.dataUrl(part.image_url.url, "files", signal) } };
          }),
        );
        return { ...m, content: parts };
      }),
    );
  }

  private dataUrl(url: string, field: string, signal?: AbortSignal): Promise<string> {
    let pending = this.fetched.get(url);
    if (!pending) {
      pending = this.download(url, field, signal);
      pending.catch(() => {}); // the caller that asked sees the failure; a second asker, the same one
      this.fetched.set(url, pending);
    }
    return pending;
  }

  private async download(url: string, field: string, signal?: AbortSignal): Promise<string> {
    const failed = (why: string) => new AppError("remote_file_upload_error", 400, `${field}: could not fetch the remote file: ${why}`, field);
    let res;
    try {
      res = await this.fetch(url, { method: "GET", headers: { accept: "image/*" }, signal }, this.limits);
    } catch (err) {
      if (!(err instanceof AppError)) throw err; // an abort, or a fault of ours
      if (err.code === "response_too_large") {
        throw new AppError("file_too_large", 413, `${field}: the remote file is larger than ${this.limits.maxBytes} bytes.`, field);
      }
      throw failed(err.message);
    }
    if (res.status !== 200) throw failed(`${res.url} answered ${res.status} ${res.statusText}`.trim() + ".");
    const type = (res.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    if (!IMAGE_TYPE.test(type)) {
      throw new AppError("unsupported_file_type", 415, `${field}: the remote file is ${type ? JSON.stringify(type) : "of no declared type"}, not an image.`, field);
    }
    return `data:${type};base64,${res.body.toString("base64")}`;
  }
}
