// The embedded speech engine's figures for `npm run bench` (issue 10), runnable alone too
// (`npm run -s build && node test/bench/speech.mjs`):
//   speed: seconds of audio made per second of CPU (the whole process: the worker thread does the work),
//          and per second of wall-clock time;
//   event loop: its delay (p99, max) and utilisation on this thread while the engine speaks;
//   turns: time to the first MP3 chunk of a one-sentence request made while a long one is spoken.
// The engine (dist/) runs in this process: it is the thing measured, and nothing else runs here then.
import path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MPEGDecoder } from "mpg123-decoder";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TARGETS = { audioPerCpu: 1, loopDelayP99Ms: 50 };
const RUNS = 2;
const TEXT = Array.from(
  { length: 8 },
  (_, i) => `This is sentence ${i + 1} of the answer, read aloud by the embedded engine while the gateway goes on serving other requests.`,
).join(" ");

async function collect(chunks, onChunk) {
  const out = [];
  for await (const chunk of chunks) {
    onChunk?.(chunk);
    out.push(chunk);
  }
  return Buffer.concat(out);
}

async function seconds(mp3) {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    const { samplesDecoded, sampleRate, errors } = decoder.decode(mp3);
    return { seconds: samplesDecoded / sampleRate, errors: errors.length };
  } finally {
    decoder.free();
  }
}

const round = (x, digits = 1) => +x.toFixed(digits);

export async function speechBench() {
  const { EmbeddedSpeech } = await import(pathToFileURL(path.join(ROOT, "dist/providers/speech/embedded.js")).href);
  const speech = new EmbeddedSpeech();
  try {
    // Cold: the worker starts (espeak's 24 MB of data loaded) and its code is not yet optimised.
    let t0 = performance.now();
    let firstChunkMs;
    await collect(speech.speak({ text: "Hello, this is the first sentence the engine speaks." }), () => (firstChunkMs ??= performance.now() - t0));
    const cold = { firstChunkMs: Math.round(firstChunkMs), totalMs: Math.round(performance.now() - t0) };

    // Warm: the same long text RUNS times, measured together.
    await collect(speech.speak({ text: TEXT }));
    const delay = monitorEventLoopDelay({ resolution: 10 });
    const mp3s = [];
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    t0 = performance.now();
    delay.enable();
    for (let i = 0; i < RUNS; i++) mp3s.push(await collect(speech.speak({ text: TEXT })));
    delay.disable();
    const wallS = (performance.now() - t0) / 1000;
    const elu = performance.eventLoopUtilization(elu0).utilization;
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    let audioS = 0;
    let decodeErrors = 0;
    for (const mp3 of mp3s) {
      const d = await seconds(mp3);
      audioS += d.seconds;
      decodeErrors += d.errors;
    }

    // Turns: a one-sentence request started once a long one has produced its first chunk.
    const long = speech.speak({ text: TEXT })[Symbol.asyncIterator]();
    await long.next();
    t0 = performance.now();
    let shortFirstMs;
    await collect(speech.speak({ text: "A short answer." }), () => (shortFirstMs ??= performance.now() - t0));
    const shortTotalMs = performance.now() - t0;
    await long.return();

    const audioPerCpu = audioS / cpuS;
    const loopDelay = { p50Ms: round(delay.percentile(50) / 1e6), p99Ms: round(delay.percentile(99) / 1e6), maxMs: round(delay.max / 1e6) };
    return {
      valid: decodeErrors === 0 && audioS > 0,
      engine: speech.name,
      text: { chars: TEXT.length, runs: RUNS },
      cold,
      audioS: round(audioS),
      cpuS: round(cpuS, 2),
      wallS: round(wallS, 2),
      audioPerCpu: round(audioPerCpu, 2),
      audioPerWall: round(audioS / wallS, 2),
      loopDelay,
      loopUtilization: round(elu, 3),
      turns: { shortFirstChunkMs: Math.round(shortFirstMs), shortTotalMs: Math.round(shortTotalMs) },
      decodeErrors,
      targets: TARGETS,
      pass: { audioPerCpu: audioPerCpu >= TARGETS.audioPerCpu, loopDelay: loopDelay.p99Ms < TARGETS.loopDelayP99Ms },
    };
  } finally {
    await speech.close();
  }
}

export function printSpeechBench(r) {
  const verdict = (ok) => (ok ? "PASS" : "MISS");
  console.log(`\nSpeech: the embedded engine (${r.engine}), in this process; its work runs in a worker thread`);
  console.log(`  cold start: first MP3 chunk after ${r.cold.firstChunkMs} ms, one sentence done in ${r.cold.totalMs} ms`);
  console.log(
    `  speed: ${r.audioS} s of audio (${r.text.runs} × ${r.text.chars} characters) in ${r.cpuS} s of CPU, ${r.wallS} s wall` +
      `  → ${r.audioPerCpu} s of audio per CPU second (target >= ${r.targets.audioPerCpu}) ${verdict(r.pass.audioPerCpu)}, ${r.audioPerWall}× real time`,
  );
  console.log(
    `  event loop while it speaks: delay p50 ${r.loopDelay.p50Ms} ms, p99 ${r.loopDelay.p99Ms} ms (target < ${r.targets.loopDelayP99Ms}) ${verdict(r.pass.loopDelay)},` +
      ` max ${r.loopDelay.maxMs} ms; utilisation ${r.loopUtilization}`,
  );
  console.log(`  a one-sentence request during a long one: first chunk ${r.turns.shortFirstChunkMs} ms, done ${r.turns.shortTotalMs} ms`);
  if (!r.valid) console.log(`  INVALID: ${r.decodeErrors} decoding errors`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await speechBench();
  printSpeechBench(result);
  console.log(JSON.stringify(result));
  process.exitCode = result.valid ? 0 : 1;
}
