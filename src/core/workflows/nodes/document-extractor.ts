// document-extractor: the text of a file, or of each file in a list (Dify's node: `variable_selector` in,
// `text` out, a string for a file and a list of strings for a list). Remote files are fetched through
// the outbound port under the reader's size cap; uploaded files will be read from storage (see
// readUploadedFile). Messages follow Dify's where it has them.
import { AppError } from "../../errors.js";
import type { FileValue } from "../../files/file-refs.js";
import { DocumentTextError, type DocumentText } from "../../ports/document-text.js";
import type { OutboundFetch } from "../../ports/outbound-fetch.js";
import type { NodeExecutor } from "../engine.js";
import { NodeFailure } from "../engine.js";
import { pyRepr } from "../python-format.js";

export type DocumentExtractorDeps = {
  documents: DocumentText;
  fetch: OutboundFetch;
  /** The whole fetch of one remote file. */
  fetchTimeoutMs: number;
};

const isFile = (v: unknown): v is FileValue => !!v && typeof v === "object" && (v as FileValue).dify_model_identity === "__dify__file__";

/**
 * The bytes of an uploaded (`local_file`) file. The seam for the storage port (ports/file-storage.ts):
 * until uploads exist, such a file fails the node.
 */
async function readUploadedFile(_file: FileValue): Promise<Uint8Array> {
  throw new NodeFailure("Error downloading file: uploaded files (local_file) are not available yet; send the file as a remote_url.", "FileDownloadError");
}

export function documentExtractor(deps: DocumentExtractorDeps): NodeExecutor {
  /** A remote file's bytes, and the type its server declared (used when the file has no extension). */
  async function download(file: FileValue, signal: AbortSignal): Promise<{ bytes: Uint8Array; mimeType: string | null }> {
    const method = (file as { transfer_method: string }).transfer_method;
    if (method !== "remote_url") return { bytes: await readUploadedFile(file), mimeType: file.mime_type };
    const failed = (why: string) => new NodeFailure(`Error downloading file: ${why}`, "FileDownloadError");
    if (!file.remote_url) throw failed("Missing URL for remote file");
    let res;
    try {
      res = await deps.fetch(file.remote_url, { method: "GET", signal }, { maxBytes: deps.documents.maxInputBytes, timeoutMs: deps.fetchTimeoutMs });
    } catch (err) {
      if (!(err instanceof AppError)) throw err; // an abort, or a fault of ours
      if (err.code === "response_too_large") throw failed(`the file is larger than ${deps.documents.maxInputBytes} bytes.`);
      throw failed(err.message);
    }
    if (res.status < 200 || res.status > 299) throw failed(`${res.url} answered ${res.status} ${res.statusText}`.trim() + ".");
    return { bytes: res.body, mimeType: file.mime_type ?? (res.headers["content-type"] || null) };
  }

  async function textOf(file: FileValue, signal: AbortSignal): Promise<string> {
    const { bytes, mimeType } = await download(file, signal);
    try {
      return await deps.documents.extract({ bytes, fileName: file.filename || file.extension || "", mimeType, signal });
    } catch (err) {
      if (err instanceof DocumentTextError) throw new NodeFailure(err.message, err.reason === "unsupported" ? "UnsupportedFileTypeError" : "TextExtractionError");
      throw err;
    }
  }

  return async ({ node, pool, signal }) => {
    const selector = (node.data.variable_selector ?? []) as string[];
    const value = pool.get(selector);
    if (value === undefined) throw new NodeFailure(`File variable not found for selector: ${pyRepr(selector)}`, "DocumentExtractorError");
    const isList = Array.isArray(value);
    const files = isList ? value.filter(Boolean) : value ? [value] : [];
    if (!files.every(isFile)) throw new NodeFailure(`Variable ${pyRepr(selector)} is not an ArrayFileSegment`, "DocumentExtractorError");
    const inputs = { variable_selector: selector };
    const processData = { documents: files };
    // An empty list, or no file: no text (Dify answers an empty list either way).
    if (!files.length) return { inputs, processData, outputs: { text: [] } };
    const texts: string[] = [];
    for (const file of files) texts.push(await textOf(file, signal)); // one at a time: each may be large
    return { inputs, processData, outputs: { text: isList ? texts : texts[0] } };
  };
}
