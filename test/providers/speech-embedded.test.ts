// The embedded engine, for real: espeak-ng and LAME in their worker thread, the MP3 read back frame by
// frame and decoded with mpg123.
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { afterAll, describe, expect, it } from "vitest";
import { AppError } from "../../src/core/errors.js";
import { EmbeddedSpeech } from "../../src/providers/speech/embedded.js";
import { speechPieces } from "../../src/providers/speech/espeak-engine.js";
import { chooseEspeakVoice, ESPEAK_LANGUAGES } from "../../src/providers/speech/espeak-voices.js";
import { decodeMp3, mp3Frames } from "../support/mp3.js";

const SENTENCE = "The embedded engine speaks this sentence without any model configured.";
const LONG_TEXT = Array.from({ length: 6 }, (_, i) => `This is sentence number ${i + 1} of a long answer, spoken while the server keeps serving.`).join(" ");

const speech = new EmbeddedSpeech();
afterAll(() => speech.close());

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

describe("EmbeddedSpeech", () => {
  it("names itself as offline and transcribes nothing (a clear 400)", async () => {
    expect(speech.name).toBe("embedded espeak-ng (offline)");
    expect(speech.transcribes).toBe(false);
    const err = await speech.transcribe().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: "provider_not_support_speech_to_text", status: 400 });
  });

  it("speaks a sentence as an MP3 that decodes to more than half a second of sound", async () => {
    const mp3 = Buffer.concat(await collect(speech.speak({ text: SENTENCE, language: "en-US" })));
    const frames = mp3Frames(mp3);
    expect(frames.sampleRate).toBe(22050);
    expect(frames.channels).toBe(1);
    expect(frames.seconds).toBeGreaterThan(2);
    const decoded = await decodeMp3(mp3);
    expect(decoded.errors).toBe(0);
    expect(decoded.seconds).toBeGreaterThan(2);
    expect(Math.abs(decoded.seconds - frames.seconds)).toBeLessThan(0.1);
    // Speech, not silence.
    expect(decoded.peak).toBeGreaterThan(0.1);
  });

  it("yields a long text in many chunks, the first long before the last is made, together one MP3 stream", async () => {
    const start = performance.now();
    const arrivals: number[] = [];
    const chunks: Buffer[] = [];
    for await (const chunk of speech.speak({ text: LONG_TEXT })) {
      arrivals.push(performance.now() - start);
      chunks.push(chunk);
    }
    expect(chunks.length).toBeGreaterThan(5);
    expect(arrivals[0]).toBeLessThan(arrivals.at(-1)! / 2);
    const frames = mp3Frames(Buffer.concat(chunks));
    expect(frames.seconds).toBeGreaterThan(15);
    expect((await decodeMp3(Buffer.concat(chunks))).errors).toBe(0);
  });

  it("does its work off the event loop: the loop stays idle and prompt while a long text is spoken", async () => {
    // Warm: the first request also starts the worker.
    await collect(speech.speak({ text: "Warm up." }));
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const before = performance.eventLoopUtilization();
    const mp3 = Buffer.concat(await collect(speech.speak({ text: LONG_TEXT })));
    const busy = performance.eventLoopUtilization(before);
    delay.disable();
    expect(mp3Frames(mp3).seconds).toBeGreaterThan(15);
    // Synthesis on this thread would keep the loop busy nearly all the time, blocked half a second at a stretch.
    expect(busy.utilization).toBeLessThan(0.5);
    expect(delay.percentile(99) / 1e6).toBeLessThan(100);
  });

  it("stops promptly on abort, and the engine serves the next request", async () => {
    const controller = new AbortController();
    const err = await (async () => {
      for await (const _chunk of speech.speak({ text: LONG_TEXT.repeat(4), signal: controller.signal })) controller.abort();
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "AbortError" });
    const mp3 = Buffer.concat(await collect(speech.speak({ text: "Still here." })));
    expect(mp3Frames(mp3).seconds).toBeGreaterThan(0.5);
  });

  it("rejects at once when the signal is already aborted", async () => {
    const err = await collect(speech.speak({ text: SENTENCE, signal: AbortSignal.abort() })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "AbortError" });
  });

  it("takes turns: a short request made while a long one is spoken waits for one sentence, not the whole text", async () => {
    // Two sentences, too long to share a piece: the short request goes between them.
    const twoSentences = LONG_TEXT.split(". ").slice(0, 2).join(". ") + ".";
    expect(speechPieces(twoSentences)).toHaveLength(2);
    const done: string[] = [];
    const long = (async () => {
      const chunks = speech.speak({ text: twoSentences })[Symbol.asyncIterator]();
      await chunks.next();
      const short = collect(speech.speak({ text: "Short one." })).then(() => done.push("short"));
      while (!(await chunks.next()).done);
      done.push("long");
      await short;
    })();
    await long;
    expect(done).toEqual(["short", "long"]);
  });

  it("picks espeak's voice by the app's language when the voice is not one of espeak's", async () => {
    const english = Buffer.concat(await collect(speech.speak({ text: "Bonjour tout le monde, comment allez-vous?", voice: "alloy", language: "en-US" })));
    const french = Buffer.concat(await collect(speech.speak({ text: "Bonjour tout le monde, comment allez-vous?", voice: "alloy", language: "fr-FR" })));
    expect(mp3Frames(french).seconds).toBeGreaterThan(0.5);
    expect(french.equals(english)).toBe(false);
  });

  it("offers espeak's languages as voices, the configured one first", () => {
    expect(speech.voices()[0]).toBe("en-us");
    expect(speech.voices()).toContain("fr-fr");
    expect(new EmbeddedSpeech({ voice: "de" }).voices()[0]).toBe("de");
    expect(ESPEAK_LANGUAGES.length).toBeGreaterThan(100);
  });

  it("fails a request, rather than leaving it waiting, when the engine is closed under it", async () => {
    const own = new EmbeddedSpeech();
    const chunks = own.speak({ text: LONG_TEXT.repeat(4) })[Symbol.asyncIterator]();
    await chunks.next();
    await own.close();
    const err = await (async () => {
      while (!(await chunks.next()).done);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    await expect(collect(own.speak({ text: "After close." }))).rejects.toBeInstanceOf(AppError);
  });
});

describe("choosing espeak's voice", () => {
  it.each([
    ["alloy", "en-US", "gmw/en-US"],
    [undefined, "en-GB", "gmw/en"],
    [undefined, "fr-FR", "roa/fr"],
    [undefined, "de-AT", "gmw/de"],
    [undefined, "zh-Hans", "sit/cmn"],
    [undefined, "pt-BR", "roa/pt-BR"],
    ["es-419", "en-US", "roa/es-419"],
    ["gmw/en-GB-scotland", undefined, "gmw/en-GB-scotland"],
    [undefined, "xx-YY", "gmw/en-US"],
    [undefined, undefined, "gmw/en-US"],
  ])("voice %s, language %s → %s", (voice, language, expected) => {
    expect(chooseEspeakVoice(voice, language)).toBe(expected);
  });
});

describe("speechPieces", () => {
  it("keeps whole sentences together and numbers whole", () => {
    expect(speechPieces("Pi is 3.14! Is it?  Yes.\nNext line")).toEqual(["Pi is 3.14! Is it?  Yes.\nNext line"]);
  });

  it("cuts a long text between sentences, and a long sentence between words, into pieces of at most 240 characters", () => {
    const pieces = speechPieces(LONG_TEXT + " " + "word ".repeat(200));
    expect(pieces.length).toBeGreaterThan(5);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(240);
    expect(pieces.join(" ").replace(/\s+/g, " ")).toBe((LONG_TEXT + " " + "word ".repeat(200)).trim().replace(/\s+/g, " "));
  });

  it("escapes what espeak would read as markup, and has nothing to say for blank text", () => {
    expect(speechPieces("a < b & c > d")).toEqual(["a &lt; b &amp; c &gt; d"]);
    expect(speechPieces("  \n ")).toEqual([]);
  });
});
