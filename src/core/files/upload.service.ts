// Uploads (behaviour.md 2.6): a file's name is checked first, its bytes on their way to storage
// (Intake), and the row written only once storage holds them all, so an aborted or refused upload
// leaves neither object nor row. Rows belong to the app and the end user who uploaded them.
import crypto from "node:crypto";
import type { Readable } from "node:stream";
import type { Db } from "../ports/database.js";
import type { FileStorage } from "../ports/file-storage.js";
import type { Viewer } from "../auth/passport.service.js";
import type { AppParameters } from "../apps/app-info.service.js";
import type { UploadFile } from "../../generated/prisma/client.js";
import { AppError, forbidden, invalidParam, notFound } from "../errors.js";
import { BLOCKED_EXTENSIONS, bytesFitExtension, kindOfExtension, mimeOfExtension, type FileKind } from "./file-kinds.js";
import { Intake } from "./intake.js";
import { refusal, type TransferMethod } from "./upload-policy.js";
import { fileLinks, verifySignature, type PreviewKind } from "./signed-url.js";

export type UploadLimits = Record<"image" | "video" | "audio" | "other", number>;

export type FilesConfig = {
  /** Largest upload by kind, in bytes (Dify's UPLOAD_*_FILE_SIZE_LIMIT). */
  limits: UploadLimits;
  /** How long a signed URL opens its file (Dify's FILES_ACCESS_TIMEOUT). */
  accessTimeoutSeconds: number;
  /** Prefix of signed URLs (Dify's FILES_URL); empty: a path on this server. */
  filesUrl: string;
};

export const DEFAULT_FILES_CONFIG: FilesConfig = {
  limits: { image: 10 << 20, video: 100 << 20, audio: 50 << 20, other: 15 << 20 },
  accessTimeoutSeconds: 300,
  filesUrl: "",
};

/** An uploaded file as both surfaces show it. */
export type UploadRecord = UploadFile & { url: string; kind: FileKind };

export type UploadInput = {
  filename: string;
  body: Readable;
  declaredType?: string | null;
  /** How the file reached us, for the app's allowed_file_upload_methods (default local_file). */
  transferMethod?: TransferMethod;
  /** Where a remote file came from (the row's source_url). */
  sourceUrl?: string;
};

/** A file stored but not yet recorded: the request's remaining parts decide which. */
export type StagedUpload = { commit(options?: { source?: string | null }): Promise<UploadRecord>; discard(): Promise<void> };

type Deps = {
  db: Db;
  storage: FileStorage;
  /** The row's storage_type (Dify's STORAGE_TYPE: local, s3). */
  storageType?: string;
  secretKey: string;
  files?: FilesConfig;
  parameters: (viewer: Viewer) => Promise<AppParameters>;
};

export function limitFor(limits: UploadLimits, kind: FileKind): number {
  return kind === "image" ? limits.image : kind === "video" ? limits.video : kind === "audio" ? limits.audio : limits.other;
}

export function filesService(deps: Deps) {
  const config = deps.files ?? DEFAULT_FILES_CONFIG;
  const links = fileLinks(deps.secretKey, config.filesUrl);
  const record = (row: UploadFile): UploadRecord => ({ ...row, url: links.urlOf(row.id), kind: kindOfExtension(row.extension) });

  async function stage(viewer: Viewer, input: UploadInput): Promise<StagedUpload> {
    const { body, filename } = input;
    let ext = "";
    try {
      if (!filename) throw new AppError("filename_not_exists_error", 400, "The specified filename does not exist.");
      if (/[/\\]/.test(filename)) throw invalidParam("Filename contains invalid characters.", "file");
      const dot = filename.lastIndexOf(".");
      ext = dot > 0 ? filename.slice(dot + 1).toLowerCase() : "";
      if (BLOCKED_EXTENSIONS.has(ext)) throw invalidParam(`File extension '.${ext}' is not allowed for security reasons.`, "file");
      const why = refusal(await deps.parameters(viewer), kindOfExtension(ext), ext, input.transferMethod ?? "local_file");
      if (why) throw new AppError("unsupported_file_type", 415, why);
    } catch (err) {
      body.resume(); // the client is still sending: let the rest through to nowhere, so it reads the answer
      throw err;
    }
    const kind = kindOfExtension(ext);
    const intake = new Intake(limitFor(config.limits, kind), (sniffed) => {
      if (!bytesFitExtension(ext, sniffed)) {
        throw new AppError("unsupported_file_type", 415, `The file's content (${sniffed?.mime ?? "unrecognised"}) is not a .${ext || "(no extension)"} file.`);
      }
    });
    body.on("error", (err) => intake.destroy(err));
    intake.on("error", () => {
      body.unpipe(intake);
      body.resume();
    });
    body.pipe(intake);
    const tenant = viewer.app.id;
    const key = `upload_files/${tenant}/${crypto.randomUUID()}${ext ? `.${ext}` : ""}`;
    const mimeType = (() => {
      const byName = mimeOfExtension(ext);
      return byName ?? (input.declaredType && /^[\w.+-]+\/[\w.+-]+$/.test(input.declaredType) ? input.declaredType : "application/octet-stream");
    })();
    try {
      await deps.storage.put(key, intake, { contentType: mimeType });
    } catch (err) {
      if (intake.errored instanceof AppError) throw intake.errored;
      throw err;
    }
    let settled = false;
    return {
      async commit(options = {}) {
        settled = true;
        try {
          if (options.source === "datasets" && kind !== "document") {
            throw new AppError("unsupported_file_type", 415, "File type not allowed: datasets take documents only.");
          }
          const row = await deps.db.uploadFile.create({
            data: {
              tenantId: tenant,
              appId: viewer.app.id,
              storageType: deps.storageType ?? "local",
              key,
              name: filename,
              size: intake.size,
              extension: ext,
              // What the bytes are, where they say so within the name's medium (a PNG named .jpg).
              mimeType: intake.sniffed && kind !== "document" && kind !== "custom" ? intake.sniffed.mime : mimeType,
              createdByRole: "end_user",
              createdBy: viewer.endUser.id,
              hash: intake.hash,
              sourceUrl: input.sourceUrl ?? "",
            },
          });
          return record(row);
        } catch (err) {
          await deps.storage.delete(key);
          throw err;
        }
      },
      async discard() {
        if (settled) return;
        settled = true;
        await deps.storage.delete(key);
      },
    };
  }

  return {
    stage,
    /** One file, recorded at once (GraphQL's single Upload). */
    async upload(viewer: Viewer, input: UploadInput): Promise<UploadRecord> {
      return (await stage(viewer, input)).commit();
    },
    /** The viewer's own file (app and end user), or 404. */
    async get(viewer: Viewer, id: string): Promise<UploadRecord> {
      const row = /^[0-9a-f-]{36}$/i.test(id)
        ? await deps.db.uploadFile.findFirst({ where: { id, appId: viewer.app.id, createdBy: viewer.endUser.id } })
        : null;
      if (!row) throw notFound("File not found.");
      return record(row);
    },
    /**
     * The file a signed URL opens: 403 when the signature does not sign this id and kind or has
     * expired. `open` reads its bytes (a range of them).
     */
    async preview(kind: PreviewKind, id: string, query: { timestamp: string | null; nonce: string | null; sign: string | null }) {
      if (!verifySignature(deps.secretKey, kind, id, query, config.accessTimeoutSeconds)) throw forbidden("Invalid request.");
      const row = /^[0-9a-f-]{36}$/i.test(id) ? await deps.db.uploadFile.findUnique({ where: { id } }) : null;
      if (!row) throw notFound("File not found.");
      if (kind === "image-preview" && !(row.mimeType ?? "").startsWith("image/")) {
        throw new AppError("unsupported_file_type", 415, "File type not allowed.");
      }
      return {
        file: row,
        open: async (range?: { start: number; end?: number }) => {
          const object = await deps.storage.get(row.key, range);
          if (!object) throw notFound("File not found.");
          return object;
        },
      };
    },
  };
}

export type FilesService = ReturnType<typeof filesService>;
