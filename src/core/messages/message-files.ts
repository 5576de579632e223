// A message's files as both surfaces show them (Dify's message_files items): a stored upload by its
// name, type and a fresh signed URL; a bare URL by the URL and its last segment.
import type { MessageFile } from "../../generated/prisma/client.js";
import type { Viewer } from "../auth/passport.service.js";
import type { FileValue } from "../files/file-refs.js";
import { decodedName } from "../files/file-refs.js";
import type { FileLinks } from "../files/signed-url.js";
import type { Db } from "../ports/database.js";

/** A file attached to a message (an upload, a remote URL, or a file the app produced). */
export type MessageFileRecord = {
  id: string;
  filename: string | null;
  type: string;
  url: string | null;
  mimeType: string | null;
  size: number | null;
  transferMethod: string;
  /** "user" or "assistant". */
  belongsTo: string;
  uploadFileId: string | null;
  /** The URL the user gave, for a remote file. */
  remoteUrl: string | null;
};

type UploadInfo = { id: string; name: string; mimeType: string | null; size: number };

/** Name, type and size of the uploads the files refer to (this app's only). */
export async function uploadsOf(db: Db, viewer: Viewer, files: Pick<MessageFile, "uploadFileId">[]): Promise<Map<string, UploadInfo>> {
  const ids = [...new Set(files.map((f) => f.uploadFileId).filter((id): id is string => !!id))];
  if (!ids.length) return new Map();
  const uploads = await db.uploadFile.findMany({
    where: { id: { in: ids }, appId: viewer.app.id },
    select: { id: true, name: true, mimeType: true, size: true },
  });
  return new Map(uploads.map((u) => [u.id, u]));
}

const nameInUrl = (url: string | null) => (url ? decodedName(url.split("?")[0].split("/").pop() || "") || null : null);

/** A message_files row as a record; `uploads` from uploadsOf. */
export function messageFileRecord(links: FileLinks, f: MessageFile, uploads: Map<string, UploadInfo>): MessageFileRecord {
  const upload = f.uploadFileId ? uploads.get(f.uploadFileId) : undefined;
  return {
    id: f.id,
    filename: upload?.name ?? nameInUrl(f.url),
    type: f.type,
    url: upload ? links.urlOf(upload.id) : (f.url ?? null),
    mimeType: upload?.mimeType ?? null,
    size: upload?.size ?? null,
    transferMethod: f.transferMethod,
    belongsTo: f.belongsTo,
    uploadFileId: f.uploadFileId ?? null,
    remoteUrl: f.transferMethod === "remote_url" ? (f.url ?? null) : null,
  };
}

/** The message_files row of a file (without its message, which the caller names): the user's, or the answer's. */
export function messageFileRow(file: FileValue, viewer: Viewer, createdAt: Date, belongsTo: "user" | "assistant" = "user") {
  return {
    type: file.type,
    transferMethod: file.transfer_method,
    belongsTo,
    // As Dify keeps them: the URL the user gave, and the upload's id when the gateway holds the bytes.
    url: file.transfer_method === "remote_url" ? file.remote_url : null,
    uploadFileId: file.related_id,
    createdBy: viewer.endUser.id,
    createdAt,
  };
}

/** A file just recorded on a message (its row's id), as both surfaces show it. */
export function fileValueRecord(id: string, file: FileValue, belongsTo: "user" | "assistant"): MessageFileRecord {
  return {
    id,
    filename: file.filename,
    type: file.type,
    url: file.url,
    mimeType: file.mime_type,
    size: file.size >= 0 ? file.size : null,
    transferMethod: file.transfer_method,
    belongsTo,
    uploadFileId: file.related_id,
    remoteUrl: file.transfer_method === "remote_url" ? file.remote_url : null,
  };
}
