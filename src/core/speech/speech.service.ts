// The end user's speech use cases (behaviour.md 2.6): a recording to its text (audio-to-text), and text
// or one of their own answers to MP3 (text-to-audio). Both need the app's feature switched on.
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import type { Viewer } from "../auth/passport.service.js";
import type { AppParameters } from "../apps/app-info.service.js";
import { ownMessages, optionalUuid } from "../conversations/scope.js";
import { AppError, invalidParam } from "../errors.js";
import { wellFormedText } from "../text.js";
import type { Db } from "../ports/database.js";
import type { SpeechProvider } from "../ports/speech.js";
import { acceptedAudioType, AudioIntake } from "./audio-intake.js";
import { speechSettings } from "./settings.js";

export type SpeechDeps = {
  db: Db;
  speech: SpeechProvider;
  log: Logger;
  /** The app's features, as /parameters reads them for every mode. */
  parameters(viewer: Viewer): Promise<AppParameters>;
};

export type TranscribeInput = { filename: string; mimeType: string | null | undefined; body: Readable };

export type SpeakInput = { text?: unknown; messageId?: unknown; voice?: unknown; signal?: AbortSignal };

/** MP3 bytes as the provider makes them; the first chunk is already in hand (its errors were 4xx/5xx, not a cut stream). */
export type SpokenAudio = { voice: string | undefined; chunks: AsyncIterable<Buffer> };

/** Longest text one request may have spoken (a long answer is about this size; OpenAI's own cap is 4096). */
export const MAX_TEXT_CHARS = 20_000;

const noAudio = () => new AppError("no_audio_uploaded", 400, "Please upload your audio.");

/** The first chunk awaited now, so a provider that refuses does so before anything is sent. */
async function startedStream(source: AsyncIterable<Buffer>): Promise<AsyncIterable<Buffer>> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  return {
    async *[Symbol.asyncIterator]() {
      try {
        if (first.done) return;
        yield first.value;
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
      } finally {
        await iterator.return?.();
      }
    },
  };
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw invalidParam(`${field} must be a string`, field);
  return value;
}

export function speechService(deps: SpeechDeps) {
  return {
    /**
     * POST /audio-to-text: the recording streamed to the provider, counted on the way (413 past 30 MB).
     * Checks in Dify's order, except that "no provider" comes before the size (the size is only known
     * once the whole recording has passed, and with no provider nothing would read it).
     */
    async transcribe(viewer: Viewer, input: TranscribeInput): Promise<{ text: string }> {
      const { body } = input;
      let mimeType: string;
      try {
        const features = await deps.parameters(viewer);
        if (!features.speechToText?.enabled) throw invalidParam("Speech to text is not enabled");
        mimeType = acceptedAudioType(input.mimeType);
        if (!deps.speech.transcribes) throw new AppError("provider_not_support_speech_to_text", 400, "Provider not support speech to text.");
      } catch (err) {
        body.resume(); // the client is still sending: let the rest through to nowhere, so it reads the answer
        throw err;
      }
      const intake = new AudioIntake();
      const controller = new AbortController();
      const release = () => {
        body.unpipe(intake);
        body.resume();
      };
      body.on("error", (err) => intake.destroy(err));
      intake.on("error", () => {
        release();
        controller.abort();
      });
      body.pipe(intake);
      let text: string;
      try {
        text = await deps.speech.transcribe({ audio: intake, filename: input.filename || "audio", mimeType, signal: controller.signal });
      } catch (err) {
        release();
        if (intake.errored instanceof AppError) throw intake.errored;
        if (intake.size === 0) throw noAudio();
        throw err;
      }
      if (intake.size === 0) throw noAudio();
      return { text };
    },

    /**
     * POST /text-to-audio: `text`, or the answer of one of the viewer's own messages (never another end
     * user's, nor another app's: unlike Dify, which looks the id up alone). Null, as Dify's `null`, when
     * that message is not found or has no answer yet. Voice: the request's, the app's, the provider's first.
     */
    async speak(viewer: Viewer, input: SpeakInput): Promise<SpokenAudio | null> {
      const requestedVoice = optionalString(input.voice, "voice");
      let text: string;
      const messageId = optionalUuid(input.messageId, "message_id");
      if (messageId) {
        const message = await deps.db.message.findFirst({ where: { id: messageId, ...ownMessages(viewer) }, select: { answer: true } });
        if (!message || message.answer.trim() === "") return null;
        text = message.answer;
      } else {
        if (input.text !== undefined && input.text !== null && typeof input.text !== "string") throw invalidParam("text must be a string", "text");
        if (typeof input.text !== "string" || input.text.trim() === "") throw invalidParam("Text is required");
        // Speech costs CPU (the embedded engine) or money (a provider) by the character: a bound per request.
        if (input.text.length > MAX_TEXT_CHARS) throw invalidParam(`Text is too long: at most ${MAX_TEXT_CHARS} characters`, "text");
        text = wellFormedText(input.text, "text");
      }
      const settings = speechSettings((await deps.parameters(viewer)).textToSpeech);
      if (!settings.enabled) throw invalidParam("TTS is not enabled");
      const voice = requestedVoice ?? settings.voice ?? deps.speech.voices()[0];
      const chunks = await startedStream(deps.speech.speak({ text, voice, language: settings.language, signal: input.signal }));
      return { voice, chunks };
    },
  };
}

export type SpeechService = ReturnType<typeof speechService>;
