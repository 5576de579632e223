// A recording on its way to the speech provider: its declared type checked first, then counted as it
// passes (refused past 30 MB), never held whole.
import { Transform, type TransformCallback } from "node:stream";
import { AppError } from "../errors.js";

/** Dify's AudioService limit (30 MB), in bytes. */
export const MAX_AUDIO_BYTES = 30 * 1024 * 1024;

// Dify's ALLOWED_EXTENSIONS as audio/<ext>, audio/mpeg (what most tools call MP3), and what browsers'
// MediaRecorder makes: Chrome audio/webm, Safari audio/mp4, Firefox audio/ogg.
const AUDIO_TYPES = new Set(["mp3", "m4a", "wav", "amr", "mpga", "mpeg", "webm", "mp4", "ogg"].map((ext) => `audio/${ext}`));

/** The part's MIME type without parameters (`audio/webm;codecs=opus`), lower case; 415 for others. */
export function acceptedAudioType(declared: string | null | undefined): string {
  const type = (declared ?? "").split(";")[0]!.trim().toLowerCase();
  if (!AUDIO_TYPES.has(type)) throw new AppError("unsupported_audio_type", 415, "Audio type not allowed.");
  return type;
}

export const audioTooLarge = () => new AppError("audio_too_large", 413, "Audio size larger than 30 mb");

/** Counts the bytes through; errors with audio_too_large past `maxBytes`. */
export class AudioIntake extends Transform {
  size = 0;

  constructor(private readonly maxBytes = MAX_AUDIO_BYTES) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
    this.size += chunk.length;
    if (this.size > this.maxBytes) return done(audioTooLarge());
    done(null, chunk);
  }
}
