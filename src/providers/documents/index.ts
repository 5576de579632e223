// The document-text adapter: picks the reader by extension or MIME type, bounds the input, the
// unpacked size of zip-based formats, each parser's time and heap (worker threads), and the output.
import { DocumentTextError, type DocumentInput, type DocumentText } from "../../core/ports/document-text.js";
import { FAILURE_PREFIX, formatOf, type Format } from "./formats.js";
import { csvMarkdown, decodeText, docxText, jsonText, sheetsMarkdown, TextTooLong } from "./render.js";
import { ParserWorkers, WorkerFailure } from "./worker.js";
import { rezipBounded, ZipTooLarge } from "./zip.js";

export type DocumentLimits = {
  /** Largest file read, in bytes (Dify's document upload limit is 15 MB). */
  maxInputBytes: number;
  /** Largest text returned, in characters: more is an error, not a truncation. */
  maxOutputChars: number;
  /** DOCX and XLSX: the most their archives may unpack to, in bytes, and hold entries. */
  maxUnzippedBytes: number;
  maxZipEntries: number;
  /** One parse, in a worker thread. */
  timeoutMs: number;
  heapMb: number;
  /** Parses at once; more wait. */
  concurrency: number;
};

export const DEFAULT_DOCUMENT_LIMITS: DocumentLimits = {
  maxInputBytes: 15 * 1024 * 1024,
  maxOutputChars: 1_000_000,
  maxUnzippedBytes: 100 * 1024 * 1024,
  maxZipEntries: 10_000,
  timeoutMs: 20_000,
  heapMb: 512,
  concurrency: 2,
};

export class DocumentTextReader implements DocumentText {
  readonly limits: DocumentLimits;
  private readonly workers: ParserWorkers;

  constructor(limits: Partial<DocumentLimits> = {}) {
    this.limits = { ...DEFAULT_DOCUMENT_LIMITS, ...limits };
    this.workers = new ParserWorkers(this.limits);
  }

  get maxInputBytes(): number {
    return this.limits.maxInputBytes;
  }

  async extract({ bytes, fileName, mimeType, signal }: DocumentInput): Promise<string> {
    const format = formatOf(fileName, mimeType);
    const fail = (why: string, reason: "failed" | "too_large" = "failed") => new DocumentTextError(`${FAILURE_PREFIX[format]}: ${why}`, reason);
    if (bytes.byteLength > this.limits.maxInputBytes) throw fail(`the file is larger than ${this.limits.maxInputBytes} bytes`, "too_large");
    let text: string;
    try {
      text = await this.read(format, bytes, signal);
    } catch (err) {
      if (err instanceof DocumentTextError || signal?.aborted) throw err;
      if (err instanceof ZipTooLarge || err instanceof TextTooLong) throw fail(err.message, "too_large");
      if (err instanceof WorkerFailure) throw fail(err.message, err.tooLarge ? "too_large" : "failed");
      throw fail(err instanceof Error ? err.message : String(err));
    }
    if (text.length > this.limits.maxOutputChars) throw fail(`the text is longer than ${this.limits.maxOutputChars} characters`, "too_large");
    return text;
  }

  private async read(format: Format, bytes: Uint8Array, signal?: AbortSignal): Promise<string> {
    const zip = () => rezipBounded(bytes, { maxUnzippedBytes: this.limits.maxUnzippedBytes, maxEntries: this.limits.maxZipEntries });
    switch (format) {
      case "text":
        return decodeText(bytes);
      case "json":
        return jsonText(decodeText(bytes));
      case "html":
        return (await this.workers.run("html", decodeText(bytes), signal)) as string;
      case "csv":
        return csvMarkdown((await this.workers.run("csv", decodeText(bytes), signal)) as string[][], this.limits.maxOutputChars);
      case "pdf":
        return ((await this.workers.run("pdf", bytes, signal)) as string[]).join("\n");
      case "docx":
        return docxText((await this.workers.run("docx", await zip(), signal)) as string);
      case "xlsx":
        return sheetsMarkdown((await this.workers.run("xlsx", await zip(), signal)) as Parameters<typeof sheetsMarkdown>[0], this.limits.maxOutputChars);
    }
  }

  close(): Promise<void> {
    return this.workers.close();
  }
}
