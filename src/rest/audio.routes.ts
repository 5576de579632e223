// POST /audio-to-text and POST /text-to-audio (behaviour.md 2.6). The recording is parsed as a stream
// (multipart.ts) and handed to the core as it arrives; the spoken MP3 is written as the provider makes it.
import { once } from "node:events";
import { AppError } from "../core/errors.js";
import { readMultipart } from "./multipart.js";
import type { Router } from "./router.js";

// What Flask's request.files["file"] raises when the part is missing (werkzeug's BadRequestKeyError).
const missingFile = () => new AppError("bad_request_key_error", 400, "The browser (or proxy) sent a request that this server could not understand.");

export function registerAudioRoutes(router: Router) {
  router.on("POST", "/audio-to-text", async (ctx) => {
    const viewer = await ctx.viewer();
    let transcribed: Promise<{ text: string }> | undefined;
    await readMultipart(ctx, {
      notMultipart: missingFile, // not multipart: there is no `file` to read
      onFile(name, stream, info) {
        // The first part named `file` is the recording; any other is let through to nowhere.
        if (name !== "file" || transcribed) return void stream.resume();
        transcribed = ctx.services.speech.transcribe(viewer, { filename: info.filename ?? "", mimeType: info.mimeType, body: stream });
        transcribed.catch(() => {}); // read once the form ends
      },
    });
    if (!transcribed) throw missingFile();
    return { status: 200, body: await transcribed };
  });

  router.on("POST", "/text-to-audio", async (ctx) => {
    const viewer = await ctx.viewer();
    const body = await ctx.json();
    const gone = new AbortController();
    const onClose = () => gone.abort();
    ctx.res.on("close", onClose);
    try {
      const audio = await ctx.services.speech.speak(viewer, { text: body.text, messageId: body.message_id, voice: body.voice, signal: gone.signal });
      // Dify answers JSON null when the message has nothing to say (unknown, not the viewer's, no answer yet).
      if (!audio) return { status: 200, body: null };
      ctx.res.writeHead(200, { "Content-Type": "audio/mpeg", "Cache-Control": "no-cache" });
      ctx.res.flushHeaders();
      for await (const chunk of audio.chunks) {
        if (gone.signal.aborted) break;
        if (!ctx.res.write(chunk)) await Promise.race([once(ctx.res, "drain"), once(ctx.res, "close")]);
      }
      ctx.res.end();
      return { written: true };
    } finally {
      ctx.res.off("close", onClose);
    }
  });
}
