// File uploads over GraphQL: the multipart request spec (graphql-upload-minimal, which hands the
// file part over as the stream it arrives on, never buffered) and an `uploadFile` mutation that
// stores it through the same use case as REST's /files/upload, under the same limits and errors.
//
// CSRF: a multipart POST is a "simple" request a foreign page can send with the user's cookies, so it
// must carry a header no simple request has (`GraphQL-Preflight` or `X-Apollo-Operation-Name`, as
// Apollo's and yoga's CSRF prevention ask).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { createGraphQLError, type Plugin } from "graphql-yoga";
import { GraphQLUpload, processRequest, type FileUpload } from "graphql-upload-minimal";
import type { UploadRecord } from "../core/files/upload.service.js";
import type { Viewer } from "../core/auth/passport.service.js";
import type { GraphQLContext } from "./context.js";
import { builder } from "./builder.js";

const PREFLIGHT_HEADERS = ["graphql-preflight", "x-apollo-operation-name"];

/** The yoga plugin that parses multipart GraphQL requests; `maxFileBytes` is the largest upload of any kind. */
export function createUploadPlugin(options: { maxFileBytes: number; maxFieldBytes: number }): Plugin<Record<string, any>, { req: IncomingMessage; res: ServerResponse }> {
  return {
    onRequestParse({ request, serverContext, setRequestParser }) {
      if (!/^multipart\/form-data\b/i.test(request.headers.get("content-type") ?? "")) return;
      if (!PREFLIGHT_HEADERS.some((h) => request.headers.get(h))) {
        throw createGraphQLError("A multipart request must carry a GraphQL-Preflight or X-Apollo-Operation-Name header (CSRF protection).", {
          extensions: { code: "BAD_REQUEST", http: { status: 400 } },
        });
      }
      setRequestParser(async () => {
        try {
          // The per-kind limits are the core's (a 413 file_too_large); this cap only sits above them.
          const operations = await processRequest(serverContext.req, serverContext.res, { maxFiles: 1, maxFileSize: options.maxFileBytes + 1, maxFieldSize: options.maxFieldBytes });
          if (Array.isArray(operations)) throw new Error("Batched operations are not supported.");
          return operations as any;
        } catch (err) {
          const status = (err as { status?: number }).status;
          throw createGraphQLError(`The multipart request is malformed: ${(err as Error).message}`, {
            extensions: { code: "BAD_REQUEST", http: { status: status === 413 ? 413 : 400 } },
          });
        }
      });
    },
  };
}

builder.addScalarType("Upload", GraphQLUpload, {});

const FileRef = builder.objectRef<UploadRecord>("File").implement({
  description: "An uploaded file, owned by the end user who sent it.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The upload's UUID: `uploadFileId` in a LOCAL_FILE FileInput." }),
    name: t.exposeString("name"),
    size: t.exposeInt("size", { description: "Bytes." }),
    extension: t.exposeString("extension", { description: "Lower case, without the dot." }),
    mimeType: t.string({ resolve: (f) => f.mimeType ?? "application/octet-stream" }),
    url: t.exposeString("url", { description: "A signed URL that serves the file for a few minutes (FILES_ACCESS_TIMEOUT)." }),
    createdAt: t.field({ type: "DateTime", resolve: (f) => f.createdAt }),
  }),
});

/**
 * An Upload argument's file part as a stream, with the viewer it is for. When the viewer is refused, the
 * rest of the part is let through to nowhere, so the client reads the answer.
 */
export async function openUpload(file: unknown, ctx: GraphQLContext): Promise<{ viewer: Viewer; upload: FileUpload; body: Readable }> {
  const upload = (await file) as FileUpload;
  const body = upload.createReadStream() as unknown as Readable;
  try {
    return { viewer: await ctx.viewer(), upload, body };
  } catch (err) {
    body.resume();
    throw err;
  }
}

builder.mutationFields((t) => ({
  uploadFile: t.field({
    type: FileRef,
    description:
      "Upload one file (the GraphQL multipart request spec; send a GraphQL-Preflight header). Held to the app's file_upload settings and the size limits by kind.",
    errors: { directResult: false, dataField: { name: "file" } },
    args: { file: t.arg({ type: "Upload", required: true }) },
    resolve: async (_root, args, ctx) => {
      const { viewer, upload, body } = await openUpload(args.file, ctx);
      return ctx.services.files.upload(viewer, { filename: upload.filename ?? "", body, declaredType: upload.mimetype });
    },
  }),
  uploadRemoteFile: t.field({
    type: FileRef,
    description: "Fetch a file by URL (under the outbound policy) and store it like an upload (transfer method remote_url).",
    errors: { directResult: false, dataField: { name: "file" } },
    args: { url: t.arg.string({ required: true }) },
    resolve: async (_root, { url }, ctx) => ctx.services.remoteFiles.upload(await ctx.viewer(), url),
  }),
}));
