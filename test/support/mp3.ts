// Reading MP3 bytes as a player would, for tests and the bench: walk the MPEG audio frames one header
// to the next (every frame must start where the last ended), and decode them with mpg123 (WASM).
import { MPEGDecoder } from "mpg123-decoder";

export type Mp3Frames = { frames: number; seconds: number; sampleRate: number; channels: number };

const BITRATES: Record<string, number[]> = {
  // kbit/s by index, Layer III: MPEG-1, and MPEG-2/2.5.
  v1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  v2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const SAMPLE_RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

/** Consecutive Layer III frames from the first byte (an ID3v2 tag skipped); throws where a frame does not follow. */
export function mp3Frames(bytes: Uint8Array): Mp3Frames {
  let at = 0;
  if (bytes[0] === 0x49 && bytes[1] === 0x44 && bytes[2] === 0x33) {
    at = 10 + ((bytes[6] << 21) | (bytes[7] << 14) | (bytes[8] << 7) | bytes[9]);
  }
  let frames = 0;
  let samples = 0;
  let sampleRate = 0;
  let channels = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw new Error(`a truncated frame header at byte ${at}`);
    const [b0, b1, b2, b3] = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
    const version = (b1 >> 3) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    const layer = (b1 >> 1) & 3; // 1: Layer III
    const bitrate = (version === 3 ? BITRATES.v1 : BITRATES.v2)[(b2 >> 4) & 15];
    const rate = SAMPLE_RATES[version]?.[(b2 >> 2) & 3];
    if (b0 !== 0xff || (b1 & 0xe0) !== 0xe0 || layer !== 1 || !bitrate || !rate) {
      throw new Error(`no MPEG Layer III frame header at byte ${at} (frame ${frames}): ${[b0, b1, b2, b3].map((b) => b.toString(16)).join(" ")}`);
    }
    const padding = (b2 >> 1) & 1;
    const perFrame = version === 3 ? 1152 : 576;
    const length = Math.floor(((perFrame / 8) * bitrate * 1000) / rate) + padding;
    if (at + length > bytes.length) throw new Error(`frame ${frames} at byte ${at} runs past the end`);
    frames++;
    samples += perFrame;
    sampleRate = rate;
    channels = (b3 >> 6) === 3 ? 1 : 2;
    at += length;
  }
  return { frames, seconds: sampleRate ? samples / sampleRate : 0, sampleRate, channels };
}

/** Decoded with mpg123: how much audio, at what rate, with how many decoding errors, and how loud. */
export async function decodeMp3(bytes: Uint8Array): Promise<{ seconds: number; sampleRate: number; errors: number; peak: number }> {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    const result = decoder.decode(bytes);
    let peak = 0;
    for (const channel of result.channelData) for (const v of channel) peak = Math.max(peak, Math.abs(v));
    return { seconds: result.samplesDecoded / result.sampleRate, sampleRate: result.sampleRate, errors: result.errors.length, peak };
  } finally {
    decoder.free();
  }
}
