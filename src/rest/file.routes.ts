// POST /files/upload (behaviour.md 2.6): the multipart body is parsed as a stream (multipart.ts) and the file
// part handed to the core as it arrives; nothing here holds it whole.
import type { StagedUpload } from "../core/files/upload.service.js";
import { AppError } from "../core/errors.js";
import { readMultipart } from "./multipart.js";
import { fileResponseJson, remoteFileJson } from "./dify/files.js";
import type { Router } from "./router.js";

export function registerFileRoutes(router: Router) {
  router.on("POST", "/files/upload", async (ctx) => {
    const viewer = await ctx.viewer();
    let staged: Promise<StagedUpload> | undefined;
    let files = 0;
    let source: string | null = null;
    try {
      await readMultipart(ctx, {
        preservePath: true,
        notMultipart: () => new AppError("no_file_uploaded", 400, "Please upload your file."),
        onFile(name, stream, info) {
          // Dify counts every file part, whatever its name.
          if (++files > 1 || name !== "file" || staged) return void stream.resume();
          staged = ctx.services.files.stage(viewer, { filename: info.filename ?? "", body: stream, declaredType: info.mimeType });
          staged.catch(() => {}); // read once the form ends
        },
        onField(name, value) {
          if (name === "source") source = value;
        },
      });
    } catch (err) {
      await staged?.then((s) => s.discard(), () => {});
      throw err;
    }
    if (!staged) {
      if (files > 1) throw new AppError("too_many_files", 400, "Only one file is allowed.");
      throw new AppError("no_file_uploaded", 400, "Please upload your file.");
    }
    const upload = await staged;
    if (files > 1) {
      await upload.discard();
      throw new AppError("too_many_files", 400, "Only one file is allowed.");
    }
    return { status: 201, body: fileResponseJson(await upload.commit({ source })) };
  });

  router.on("POST", "/remote-files/upload", async (ctx) => {
    const viewer = await ctx.viewer();
    const body = await ctx.json();
    return { status: 201, body: remoteFileJson(await ctx.services.remoteFiles.upload(viewer, body.url)) };
  });

  // The URL comes percent-encoded in the last segment (the router decodes it).
  router.on("GET", "/remote-files/:url", async (ctx) => {
    const info = await ctx.services.remoteFiles.info(await ctx.viewer(), ctx.params.url);
    return { status: 200, body: { file_type: info.fileType, file_length: info.fileLength } };
  });
}
