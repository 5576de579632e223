// A request's files, resolved: uploads looked up as the asking end user's own (in this app), so another
// user's upload_file_id is the request's 400 and never reaches a model or a run; then held to the rule
// of the slot that carries them (the app's file_upload feature, or a file variable's spec).
import type { Db } from "../ports/database.js";
import type { Prisma, UploadFile } from "../../generated/prisma/client.js";
import type { Viewer } from "../auth/passport.service.js";
import { AppError, invalidParam } from "../errors.js";
import { kindOfExtension } from "./file-kinds.js";
import { isFileValue, parseFileRef, parseFileRefs, remoteFileValue, type FileRef, type FileValue } from "./file-refs.js";
import type { FileLinks } from "./signed-url.js";
import { countRefusal, fileRefusal, variableRule, type FileRule } from "./upload-policy.js";

export type RequestFilesDeps = { db: Db; links: FileLinks };

/** An upload as a File value, with a fresh signed URL. */
export function storedFileValue(links: FileLinks, row: UploadFile, transferMethod: FileRef["transferMethod"]): FileValue {
  const url = links.urlOf(row.id);
  return {
    dify_model_identity: "__dify__file__",
    id: null,
    // What the stored bytes are (sniffed at upload), whatever the client called them.
    type: kindOfExtension(row.extension),
    transfer_method: transferMethod,
    remote_url: transferMethod === "remote_url" ? row.sourceUrl || url : null,
    url,
    related_id: row.id,
    filename: row.name,
    extension: row.extension ? `.${row.extension}` : "",
    mime_type: row.mimeType,
    size: row.size,
  };
}

/** The viewer's uploads among `ids`, by id; any other id is the request's 400. */
async function ownUploads(deps: RequestFilesDeps, viewer: Viewer, refs: FileRef[]): Promise<Map<string, UploadFile>> {
  const ids = [...new Set(refs.flatMap((r) => (r.uploadFileId ? [r.uploadFileId] : [])))];
  if (!ids.length) return new Map();
  const rows = await deps.db.uploadFile.findMany({ where: { id: { in: ids }, appId: viewer.app.id, createdBy: viewer.endUser.id } });
  const byId = new Map(rows.map((r) => [r.id, r]));
  const missing = refs.find((r) => r.uploadFileId && !byId.has(r.uploadFileId));
  if (missing) throw invalidParam(`${missing.field}: Invalid upload file`, missing.field);
  return byId;
}

async function resolve(deps: RequestFilesDeps, viewer: Viewer, refs: FileRef[], rule: FileRule | null): Promise<FileValue[]> {
  const uploads = await ownUploads(deps, viewer, refs);
  const files = refs.map((ref) => {
    const row = ref.uploadFileId ? uploads.get(ref.uploadFileId)! : null;
    return { ref, value: row ? storedFileValue(deps.links, row, ref.transferMethod) : remoteFileValue(ref.url!, ref.type) };
  });
  if (rule) {
    for (const { ref, value } of files) {
      const why = fileRefusal(rule, { type: value.type, extension: value.extension, transferMethod: value.transfer_method, filename: value.filename });
      if (why) throw invalidParam(why, ref.field);
    }
  }
  return files.map((f) => f.value);
}

/**
 * The request's `files` as File values. `rule` is the app's file_upload feature: null means the app
 * takes none, and (as in Dify) files sent anyway are dropped unread.
 */
export async function requestFiles(deps: RequestFilesDeps, viewer: Viewer, files: unknown, rule: FileRule | null, opts: { unchecked?: boolean } = {}): Promise<FileValue[]> {
  const refs = parseFileRefs(files);
  if (!rule && !opts.unchecked) return [];
  if (rule) {
    const why = countRefusal(rule, refs);
    if (why) throw invalidParam(why, "files");
  }
  return resolve(deps, viewer, refs, rule);
}

/** The form's file and file-list inputs as File values, each held to its variable's rule; other inputs unchanged. */
export async function resolveFileInputs(deps: RequestFilesDeps, viewer: Viewer, form: Record<string, unknown>[], inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
  const out = { ...inputs };
  for (const entry of form) {
    const [type, spec] = Object.entries(entry)[0] ?? [];
    if (type !== "file" && type !== "file-list") continue;
    const s = (spec ?? {}) as Record<string, unknown>;
    const name = typeof s.variable === "string" ? s.variable : null;
    if (!name || out[name] === null || out[name] === undefined) continue;
    const rule = variableRule(s);
    if (type === "file") {
      out[name] = (await resolve(deps, viewer, [parseFileRef(out[name], name)], rule))[0];
    } else {
      const refs = parseFileRefs(out[name], name);
      if (rule.limit !== null && refs.length > rule.limit) throw invalidParam(`${name} in input form must be less than ${rule.limit} files`, name);
      out[name] = await resolve(deps, viewer, refs, rule);
    }
  }
  return out;
}

/** Every File value among `values` (single files and lists), e.g. a run's inputs and sys.files. */
export function filesAmong(values: unknown[]): FileValue[] {
  return values.flatMap((v) => (Array.isArray(v) ? v.filter(isFileValue) : isFileValue(v) ? [v] : []));
}

/**
 * Marks the uploads among `files` as used (kept from the unused-file sweep), inside the caller's
 * transaction. Throws when one is gone: the sweep removed it since the request was checked (its lock
 * makes this wait for it), and a message or run must not name a file that no longer exists.
 */
export async function markUsed(tx: Pick<Db, "uploadFile">, viewer: Viewer, files: FileValue[], at: Date): Promise<void> {
  const ids = [...new Set(files.flatMap((f) => (f.related_id ? [f.related_id] : [])))];
  if (!ids.length) return;
  const mine: Prisma.UploadFileWhereInput = { id: { in: ids }, appId: viewer.app.id };
  const marked = await tx.uploadFile.updateMany({ where: { ...mine, used: false }, data: { used: true, usedBy: viewer.endUser.id, usedAt: at } });
  if (marked.count < ids.length && (await tx.uploadFile.count({ where: mine })) < ids.length) {
    throw new AppError("invalid_param", 400, "Invalid upload file: it was removed as unused.");
  }
}
