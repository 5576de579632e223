// The parsers run in a worker thread, one per document: a file that makes a parser loop or balloon is
// stopped by terminating the thread (a time cap, and V8's heap cap on the thread), never the server's
// event loop. The worker's source is a string of plain JavaScript (as the code sandbox's is) so the same
// code runs from src/ under the tests and from dist/; it loads each library by the path resolved here.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

const require = createRequire(import.meta.url);
let paths: Record<string, string> | undefined;
const libraryPaths = () =>
  (paths ??= {
    unpdf: require.resolve("unpdf"),
    mammoth: require.resolve("mammoth"),
    xlsx: require.resolve("read-excel-file/node"),
    csv: require.resolve("csv-parse/sync"),
    html: require.resolve("html-to-text"),
  });

const SOURCE = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const { job, input, paths } = workerData;
async function run() {
  switch (job) {
    case "pdf": {
      const { extractText } = require(paths.unpdf);
      return (await extractText(input, { mergePages: false })).text;
    }
    case "docx": {
      const mammoth = require(paths.mammoth);
      // Images are dropped unread; empty paragraphs kept (Dify's text has their empty lines).
      const options = { ignoreEmptyParagraphs: false, convertImage: mammoth.images.imgElement(async () => ({ src: "" })) };
      return (await mammoth.convertToHtml({ buffer: Buffer.from(input) }, options)).value;
    }
    case "xlsx": {
      const read = require(paths.xlsx).default;
      return (await read(Buffer.from(input))).map((s) => ({ name: s.sheet, rows: s.data }));
    }
    case "csv": {
      const { parse } = require(paths.csv);
      // Python's csv.reader is as lenient: stray quotes are text, rows may differ in length.
      return parse(input, { relax_quotes: true, relax_column_count: true, skip_empty_lines: false });
    }
    case "html": {
      const { convert } = require(paths.html);
      return convert(input, { wordwrap: false });
    }
  }
  throw new Error("unknown job " + job);
}
run().then(
  (value) => parentPort.postMessage({ value }),
  (error) => parentPort.postMessage({ error: String((error && error.message) || error) }),
);
`;

export type WorkerJob = "pdf" | "docx" | "xlsx" | "csv" | "html";
export type WorkerLimits = { timeoutMs: number; heapMb: number; concurrency: number };

/** A worker's failure, in words for the node's error. */
export class WorkerFailure extends Error {
  constructor(
    message: string,
    readonly tooLarge = false,
  ) {
    super(message);
  }
}

/** Runs parser jobs in worker threads, at most `concurrency` at once (the rest wait their turn). */
export class ParserWorkers {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly live = new Set<Worker>();

  constructor(private readonly limits: WorkerLimits) {}

  async run(job: WorkerJob, input: Uint8Array | string, signal?: AbortSignal): Promise<unknown> {
    if (this.running >= this.limits.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      signal?.throwIfAborted();
      return await this.spawn(job, input, signal);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private spawn(job: WorkerJob, input: Uint8Array | string, signal?: AbortSignal): Promise<unknown> {
    // A copy of its own, moved (not cloned) to the thread.
    const data = typeof input === "string" ? input : new Uint8Array(input);
    const worker = new Worker(SOURCE, {
      eval: true,
      workerData: { job, input: data, paths: libraryPaths() },
      transferList: typeof data === "string" ? [] : [data.buffer as ArrayBuffer],
      resourceLimits: { maxOldGenerationSizeMb: this.limits.heapMb },
      env: {},
      // pdf.js warns on stdout about fonts and the like: not the server's log.
      stdout: true,
      stderr: true,
    });
    worker.stdout.resume();
    worker.stderr.resume();
    this.live.add(worker);
    return new Promise<unknown>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.live.delete(worker);
        void worker.terminate();
        fn();
      };
      const timer = setTimeout(
        () => settle(() => reject(new WorkerFailure(`the document took longer than ${this.limits.timeoutMs / 1000} s to read`))),
        this.limits.timeoutMs,
      );
      const onAbort = () => settle(() => reject(signal!.reason));
      signal?.addEventListener("abort", onAbort, { once: true });
      worker.on("message", (m: { value?: unknown; error?: string }) =>
        settle(() => (m.error !== undefined ? reject(new WorkerFailure(m.error)) : resolve(m.value))),
      );
      worker.on("error", (err: Error & { code?: string }) =>
        settle(() =>
          reject(err.code === "ERR_WORKER_OUT_OF_MEMORY" ? new WorkerFailure(`the document needs more than ${this.limits.heapMb} MB of memory to read`, true) : new WorkerFailure(err.message)),
        ),
      );
      worker.on("exit", (code) => settle(() => reject(new WorkerFailure(`the reader stopped (exit code ${code})`))));
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.live].map((w) => w.terminate()));
  }
}
