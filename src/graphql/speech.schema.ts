// Speech over GraphQL: `transcribe` (a recording in, as a multipart upload; see uploads.ts for the
// request and its CSRF header) and `speech` (text, or one of your answers, spoken). The same use cases
// as REST's /audio-to-text and /text-to-audio, with the same errors as AppError values.
import { builder } from "./builder.js";
import { openUpload } from "./uploads.js";
import { recordId } from "./common.schema.js";

type SpokenAudio = { audio: Buffer; voice: string | null };

const SpeechAudio = builder.objectRef<SpokenAudio>("SpeechAudio").implement({
  description:
    "Spoken text as one MP3, returned whole as base64 (GraphQL has no byte stream; REST's /api/text-to-audio streams it as it is made).",
  fields: (t) => ({
    mimeType: t.string({ description: "Always audio/mpeg.", resolve: () => "audio/mpeg" }),
    audio: t.string({ description: "The MP3 bytes, base64 (RFC 4648, with padding).", resolve: (a) => a.audio.toString("base64") }),
    bytes: t.int({ description: "The MP3's size in bytes.", resolve: (a) => a.audio.length }),
    voice: t.string({ nullable: true, description: "The voice spoken in; null when the provider chose its default.", resolve: (a) => a.voice }),
  }),
});

builder.queryField("speech", (t) =>
  t.field({
    type: SpeechAudio,
    nullable: true,
    description:
      "Text spoken as MP3 (the app's text_to_speech must be enabled). Give `text`, or `messageId` to speak one of your own answers: " +
      "null when that message is not yours, not found, or has no answer yet (Dify's JSON null). " +
      "Voice: `voice`, else the app's text_to_speech.voice, else the provider's first.",
    errors: {},
    args: {
      text: t.arg.string(),
      messageId: t.arg.id({ description: "A Message global id or its UUID." }),
      voice: t.arg.string(),
    },
    resolve: async (_root, args, ctx) => {
      const spoken = await ctx.services.speech.speak(await ctx.viewer(), {
        text: args.text,
        messageId: recordId(args.messageId, "Message"),
        voice: args.voice,
      });
      if (!spoken) return null;
      const chunks: Buffer[] = [];
      for await (const chunk of spoken.chunks) chunks.push(chunk);
      return { audio: Buffer.concat(chunks), voice: spoken.voice ?? null };
    },
  }),
);

builder.mutationFields((t) => ({
  transcribe: t.string({
    description:
      "A recording's text (the app's speech_to_text must be enabled). The GraphQL multipart request spec; send a GraphQL-Preflight header. " +
      "audio/mp3, m4a, wav, amr, mpga, mpeg, webm, mp4 or ogg; at most 30 MB.",
    errors: { directResult: false, dataField: { name: "text" } },
    args: { file: t.arg({ type: "Upload", required: true }) },
    resolve: async (_root, args, ctx) => {
      const { viewer, upload, body } = await openUpload(args.file, ctx);
      const { text } = await ctx.services.speech.transcribe(viewer, { filename: upload.filename ?? "", mimeType: upload.mimetype, body });
      return text;
    },
  }),
}));
