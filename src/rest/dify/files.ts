// Dify's FileResponse (api/fields/file_fields.py) for uploads.
import type { UploadRecord } from "../../core/files/upload.service.js";

export function fileResponseJson(f: UploadRecord) {
  return {
    id: f.id,
    name: f.name,
    size: f.size,
    extension: f.extension,
    mime_type: f.mimeType,
    created_by: f.createdBy,
    created_at: Math.floor(f.createdAt.getTime() / 1000),
    preview_url: null,
    source_url: f.url,
    original_url: null,
    user_id: null,
    tenant_id: f.tenantId,
    conversation_id: null,
    file_key: null,
  };
}

/** The remote-files upload answer (remote_files.py): a smaller shape, with the signed URL as `url`. */
export function remoteFileJson(f: UploadRecord) {
  return {
    id: f.id,
    name: f.name,
    size: f.size,
    extension: f.extension,
    url: f.url,
    mime_type: f.mimeType,
    created_by: f.createdBy,
    created_at: Math.floor(f.createdAt.getTime() / 1000),
  };
}
