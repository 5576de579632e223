// Text out of a document (PDF, DOCX, XLSX, CSV, HTML, Markdown, JSON, plain text), for the workflow's
// document-extractor node. The adapter parses hostile bytes: it bounds input size, output size and time.

export type DocumentInput = {
  bytes: Uint8Array;
  /** The file's name; its extension picks the format (as Dify does), else `mimeType`. */
  fileName: string;
  mimeType: string | null;
  signal?: AbortSignal;
};

/** Why a document gave no text: a format we do not read, or a file we could not read. */
export class DocumentTextError extends Error {
  constructor(
    message: string,
    readonly reason: "unsupported" | "failed" | "too_large",
  ) {
    super(message);
  }
}

export interface DocumentText {
  /** The largest input accepted, in bytes: callers fetch no more than this. */
  readonly maxInputBytes: number;
  /** The document's text; rejects with DocumentTextError (or an AbortError when `signal` fires). */
  extract(input: DocumentInput): Promise<string>;
  close(): Promise<void>;
}
