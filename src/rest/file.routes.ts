// POST /files/upload (behaviour.md 2.6): the multipart body is parsed as a stream (busboy) and the file
// part handed to the core as it arrives; nothing here holds it whole.
import busboy from "busboy";
import type { StagedUpload } from "../core/files/upload.service.js";
import { AppError, badRequest } from "../core/errors.js";
import { fileResponseJson, remoteFileJson } from "./dify/files.js";
import type { Router } from "./router.js";

export function registerFileRoutes(router: Router) {
  router.on("POST", "/files/upload", async (ctx) => {
    const viewer = await ctx.viewer();
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: ctx.req.headers, preservePath: true, limits: { fields: 10, fieldSize: 1024, parts: 20 } });
    } catch {
      throw new AppError("no_file_uploaded", 400, "Please upload your file.");
    }
    let staged: Promise<StagedUpload> | undefined;
    let files = 0;
    let source: string | null = null;
    parser.on("file", (name, stream, info) => {
      // Dify counts every file part, whatever its name.
      if (++files > 1 || name !== "file" || staged) return void stream.resume();
      staged = ctx.services.files.stage(viewer, { filename: info.filename ?? "", body: stream, declaredType: info.mimeType });
      staged.catch(() => {}); // read once the form ends
    });
    parser.on("field", (name, value) => {
      if (name === "source") source = value;
    });
    const done = new Promise<void>((resolve, reject) => {
      parser.on("close", resolve);
      parser.on("error", reject);
      // A client gone mid-file: destroying the parser errors the file stream, so storage keeps nothing.
      const gone = () => {
        const err = Object.assign(new Error("aborted"), { code: "ECONNRESET" });
        parser.destroy(err);
        reject(err);
      };
      ctx.req.on("aborted", gone);
      ctx.req.on("error", gone);
    });
    ctx.req.pipe(parser);
    try {
      await done;
    } catch (err) {
      ctx.req.unpipe(parser);
      await staged?.then((s) => s.discard(), () => {});
      if (ctx.req.destroyed) throw err;
      throw badRequest(`The multipart body is malformed: ${(err as Error).message}`);
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
