// File references in request bodies (`files`, file-typed inputs), as Dify's web client sends them:
// `{ type, transfer_method, url | upload_file_id }` (behaviour.md 1.5). Parsing checks their shape;
// resolving (request-files.ts) turns them into Dify's File values, uploads looked up as the end user's own.
import { invalidParam } from "../errors.js";
import { wellFormedText } from "../text.js";

const TYPES = new Set(["image", "document", "audio", "video", "custom"]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Dify's serialised File (graphon `File.to_dict`), as workflows see it in `sys.files` and file inputs. */
export type FileValue = {
  dify_model_identity: "__dify__file__";
  id: null;
  type: string;
  transfer_method: "remote_url" | "local_file";
  /** Where the file came from: the URL the user gave (null for a file uploaded from a disk). */
  remote_url: string | null;
  /** Where to get it: a signed URL of ours for a stored file, else the remote URL. */
  url: string;
  /** The upload's id when the gateway holds the bytes (its `upload_files` row); null for a bare URL. */
  related_id: string | null;
  filename: string;
  /** With its dot (".png"), or "". */
  extension: string;
  mime_type: string | null;
  /** Bytes; -1 when not known (a URL not fetched). */
  size: number;
};

export const isFileValue = (v: unknown): v is FileValue =>
  !!v && typeof v === "object" && (v as FileValue).dify_model_identity === "__dify__file__";

/** A file reference as a request gives it, checked for shape only. */
export type FileRef = {
  /** The request field that named it, for the error's `params` ("files[0]", "picture"). */
  field: string;
  /** What the client says the file is (image, document, audio, video, custom). */
  type: string;
  transferMethod: "remote_url" | "local_file";
  /** A remote_url's URL. */
  url: string | null;
  /** An uploaded file's id: local_file always; remote_url when the client had the gateway fetch it first. */
  uploadFileId: string | null;
};

/** The URL's last path segment, percent-decoded where it can be (`%E0%A4%A` is kept as it is). */
export function decodedName(segment: string): string {
  try {
    const name = decodeURIComponent(segment);
    return name.includes("\u0000") ? segment : name; // %00 would make a name no column takes
  } catch {
    return segment;
  }
}

function httpUrl(given: unknown, field: string): string {
  if (typeof given !== "string") throw invalidParam(`${field}.url must be an http(s) URL`, field);
  const url = wellFormedText(given, `${field}.url`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidParam(`${field}.url must be an http(s) URL`, field);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw invalidParam(`${field}.url must be an http(s) URL`, field);
  return url;
}

export function parseFileRef(ref: unknown, field: string): FileRef {
  if (!ref || typeof ref !== "object" || Array.isArray(ref)) throw invalidParam(`${field} must be a file object`, field);
  const r = ref as Record<string, unknown>;
  // Strings only: String() of an object with its own `toString` key throws.
  if (r.type !== undefined && r.type !== null && typeof r.type !== "string") throw invalidParam(`${field}.type must be one of image, document, audio, video, custom`, field);
  const type = r.type ?? "custom";
  if (!TYPES.has(type)) throw invalidParam(`${field}.type must be one of image, document, audio, video, custom`, field);
  const method = r.transfer_method;
  if (method === "tool_file" || method === "datasource_file") throw invalidParam(`${field}: ${method} files are made by apps, not sent by users`, field);
  if (method !== "remote_url" && method !== "local_file") throw invalidParam(`${field}.transfer_method must be local_file or remote_url`, field);
  // The web client sends "" for the field that does not apply.
  const id = r.upload_file_id ?? r.related_id;
  const uploadFileId = id === undefined || id === null || id === "" ? null : id;
  if (uploadFileId !== null && (typeof uploadFileId !== "string" || !UUID.test(uploadFileId))) throw invalidParam(`${field}: Invalid upload file id format`, field);
  if (method === "local_file") {
    if (!uploadFileId) throw invalidParam(`${field}: Invalid upload file id`, field);
    return { field, type, transferMethod: method, url: null, uploadFileId: uploadFileId.toLowerCase() };
  }
  // A remote file the gateway already fetched (POST /remote-files/upload) is known by its upload's id.
  if (uploadFileId) return { field, type, transferMethod: method, url: null, uploadFileId: uploadFileId.toLowerCase() };
  return { field, type, transferMethod: method, url: httpUrl(r.url || r.remote_url || "", field), uploadFileId: null };
}

/** The request's `files`: absent or empty means none; at most 10 (Dify's workflow_file_upload_limit). */
export function parseFileRefs(files: unknown, field = "files"): FileRef[] {
  if (files === undefined || files === null) return [];
  if (!Array.isArray(files)) throw invalidParam(`${field} must be a list`, field);
  if (files.length > 10) throw invalidParam(`${field}: at most 10 files`, field);
  return files.map((f, i) => parseFileRef(f, `${field}[${i}]`));
}

/** A URL the gateway has not fetched, as a File value: its name from the URL, its size unknown. */
export function remoteFileValue(url: string, type: string): FileValue {
  const filename = decodedName(new URL(url).pathname.split("/").pop() || "file");
  const dot = filename.lastIndexOf(".");
  return {
    dify_model_identity: "__dify__file__",
    id: null,
    type,
    transfer_method: "remote_url",
    remote_url: url,
    url,
    related_id: null,
    filename,
    extension: dot > 0 ? filename.slice(dot) : "",
    mime_type: null,
    size: -1,
  };
}
