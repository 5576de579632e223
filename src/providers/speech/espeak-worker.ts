// The embedded engine's thread: espeak-ng (compiled to JavaScript) synthesises 16-bit PCM and LAME
// (pure JS) encodes it to MP3 as it comes, so neither ever runs on the server's event loop. The source
// is a string of plain JavaScript (as the document parsers' is) so the same code runs from src/ under
// the tests and from dist/; both libraries are ES modules, imported by the paths resolved here.
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let paths: { espeak: string; lame: string } | undefined;
export const libraryPaths = () =>
  (paths ??= {
    espeak: require.resolve("@echogarden/espeak-ng-emscripten"),
    // Its exports give require() an IIFE that exports nothing; the ES module sits beside it.
    lame: path.join(path.dirname(require.resolve("@breezystack/lamejs")), "lamejs.js"),
  });

/** 22.05 kHz mono at 48 kbit/s: espeak's own rate, and plenty for a synthetic voice. */
export const SAMPLE_RATE = 22_050;
export const BITRATE_KBPS = 48;

// Messages in: {type:"speak", id, text, voice, last, abort: SharedArrayBuffer} (one piece of a job's
// text; the job's encoder lives across its pieces so the MP3 is one stream), {type:"drop", id}.
// Out: {type:"ready"}, {type:"audio", id, bytes}, {type:"piece", id, samples, aborted}, {type:"failed",
// id, message}, {type:"fatal", message}. The abort flag is read while espeak runs: returning 1 from
// its callback stops the synthesis within one block of audio.
export const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const { pathToFileURL } = require("node:url");
const { paths, sampleRate, kbps, chunkBytes, fallbackVoice } = workerData;
let engine;
let Mp3Encoder;
let currentVoice;
const encoders = new Map();

async function start() {
  const { default: init } = await import(pathToFileURL(paths.espeak).href);
  const espeak = await init();
  engine = new espeak.eSpeakNGWorker();
  ({ Mp3Encoder } = await import(pathToFileURL(paths.lame).href));
  parentPort.postMessage({ type: "ready" });
}

function useVoice(voice) {
  if (voice === currentVoice) return;
  // 0 is success; otherwise espeak keeps the previous voice, so fall back explicitly.
  if (engine.set_voice(voice) !== 0) engine.set_voice(fallbackVoice);
  currentVoice = voice;
}

function speak({ id, text, voice, last, abort }) {
  const flag = new Int32Array(abort);
  let encoder = encoders.get(id);
  if (!encoder) {
    encoder = new Mp3Encoder(1, sampleRate, kbps);
    encoders.set(id, encoder);
  }
  useVoice(voice);
  let pending = [];
  let size = 0;
  let samples = 0;
  const send = () => {
    if (size === 0) return;
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const part of pending) {
      bytes.set(part, at);
      at += part.length;
    }
    pending = [];
    size = 0;
    parentPort.postMessage({ type: "audio", id, bytes }, [bytes.buffer]);
  };
  const add = (mp3) => {
    if (mp3.length === 0) return;
    pending.push(new Uint8Array(mp3.buffer, mp3.byteOffset, mp3.length).slice());
    size += mp3.length;
  };
  engine.synthesize(text, (pcm) => {
    if (Atomics.load(flag, 0) !== 0) return 1;
    if (pcm && pcm.length > 0) {
      samples += pcm.length;
      add(encoder.encodeBuffer(pcm));
      if (size >= chunkBytes) send();
    }
    return 0;
  });
  if (Atomics.load(flag, 0) !== 0) {
    encoders.delete(id);
    parentPort.postMessage({ type: "piece", id, samples, aborted: true });
    return;
  }
  if (last) {
    add(encoder.flush());
    encoders.delete(id);
  }
  send();
  parentPort.postMessage({ type: "piece", id, samples, aborted: false });
}

parentPort.on("message", (message) => {
  if (message.type === "drop") {
    encoders.delete(message.id);
    return;
  }
  try {
    speak(message);
  } catch (error) {
    encoders.delete(message.id);
    parentPort.postMessage({ type: "failed", id: message.id, message: String((error && error.message) || error) });
  }
});

start().catch((error) => parentPort.postMessage({ type: "fatal", message: String((error && error.message) || error) }));
`;
