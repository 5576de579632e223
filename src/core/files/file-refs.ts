// File references in request bodies (`files`, file-typed inputs), as Dify's web client sends them:
// `{ type, transfer_method, url | upload_file_id }`. Remote URLs are passed on as Dify's File objects;
// uploaded files (`local_file`) need the upload storage appgraph does not have yet, and are refused.
import { invalidParam } from "../errors.js";
import { wellFormedText } from "../text.js";

const TYPES = new Set(["image", "document", "audio", "video", "custom"]);

/** Dify's serialised File (graphon `File.to_dict`), as workflows see it in `sys.files`. */
export type FileValue = {
  dify_model_identity: "__dify__file__";
  id: null;
  type: string;
  transfer_method: "remote_url";
  remote_url: string;
  url: string;
  related_id: null;
  filename: string;
  extension: string;
  mime_type: string | null;
  size: number;
};

/** The URL's last path segment, percent-decoded where it can be (`%E0%A4%A` is kept as it is). */
function decodedName(segment: string): string {
  try {
    const name = decodeURIComponent(segment);
    return name.includes("\u0000") ? segment : name; // %00 would make a name no column takes
  } catch {
    return segment;
  }
}

function fileOf(ref: unknown, field: string): FileValue {
  if (!ref || typeof ref !== "object" || Array.isArray(ref)) throw invalidParam(`${field} must be a file object`, field);
  const r = ref as Record<string, unknown>;
  // Strings only: String() of an object with its own `toString` key throws.
  if (r.type !== undefined && r.type !== null && typeof r.type !== "string") throw invalidParam(`${field}.type must be one of image, document, audio, video, custom`, field);
  const type = r.type ?? "custom";
  if (!TYPES.has(type)) throw invalidParam(`${field}.type must be one of image, document, audio, video, custom`, field);
  if (r.transfer_method === "local_file" || r.transfer_method === "tool_file" || r.transfer_method === "datasource_file") {
    throw invalidParam(`${field}: ${String(r.transfer_method)} files need file uploads, which this server does not offer yet; send a remote_url`, field);
  }
  if (r.transfer_method !== "remote_url") throw invalidParam(`${field}.transfer_method must be remote_url`, field);
  const given = r.url ?? r.remote_url ?? "";
  if (typeof given !== "string") throw invalidParam(`${field}.url must be an http(s) URL`, field);
  const url = wellFormedText(given, `${field}.url`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidParam(`${field}.url must be an http(s) URL`, field);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw invalidParam(`${field}.url must be an http(s) URL`, field);
  const filename = decodedName(parsed.pathname.split("/").pop() || "file");
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

/** The request's `files`: absent or empty means none; at most 10 (Dify's workflow_file_upload_limit). */
export function parseFiles(files: unknown, field = "files"): FileValue[] {
  if (files === undefined || files === null) return [];
  if (!Array.isArray(files)) throw invalidParam(`${field} must be a list`, field);
  if (files.length > 10) throw invalidParam(`${field}: at most 10 files`, field);
  return files.map((f, i) => fileOf(f, `${field}[${i}]`));
}

/** Image URLs among file values (a single file or a list), for a model that sees. */
export function imageUrls(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value ? [value] : [];
  return list
    .filter((f): f is FileValue => !!f && typeof f === "object" && (f as FileValue).type === "image" && typeof (f as FileValue).url === "string")
    .map((f) => f.url);
}

/** The form's file and file-list inputs as File values; other inputs unchanged. */
export function resolveFileInputs(form: Record<string, unknown>[], inputs: Record<string, unknown>): Record<string, unknown> {
  const out = { ...inputs };
  for (const entry of form) {
    const [type, spec] = Object.entries(entry)[0] ?? [];
    const name = (spec as { variable?: string } | undefined)?.variable;
    if (!name || out[name] === null || out[name] === undefined) continue;
    if (type === "file") out[name] = fileOf(out[name], name);
    else if (type === "file-list") out[name] = parseFiles(out[name], name);
  }
  return out;
}
