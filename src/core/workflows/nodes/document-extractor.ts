// document-extractor: the text of a file, or of each file in a list (Dify's node: `variable_selector` in,
// `text` out, a string for a file and a list of strings for a list). The bytes come from the run's file
// reader (stored uploads from storage, bare URLs through the outbound port) under the extractor's size
// cap. Messages follow Dify's where it has them.
import { FileUnreadable, type FileContents } from "../../files/file-contents.js";
import { isFileValue, type FileValue } from "../../files/file-refs.js";
import { DocumentTextError, type DocumentText } from "../../ports/document-text.js";
import type { NodeExecutor } from "../engine.js";
import { NodeFailure } from "../engine.js";
import { pyRepr } from "../python-format.js";

export type DocumentExtractorDeps = {
  documents: DocumentText;
  /** The run's files: its end user's uploads, and URLs under the outbound policy. */
  files: FileContents;
  /** The whole fetch of one remote file. */
  fetchTimeoutMs: number;
};

export function documentExtractor(deps: DocumentExtractorDeps): NodeExecutor {
  async function download(file: FileValue, signal: AbortSignal) {
    try {
      return await deps.files.read(file, { maxBytes: deps.documents.maxInputBytes, timeoutMs: deps.fetchTimeoutMs, signal });
    } catch (err) {
      if (err instanceof FileUnreadable) throw new NodeFailure(`Error downloading file: ${err.message}`, "FileDownloadError");
      throw err;
    }
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
    if (!files.every(isFileValue)) throw new NodeFailure(`Variable ${pyRepr(selector)} is not an ArrayFileSegment`, "DocumentExtractorError");
    const inputs = { variable_selector: selector };
    const processData = { documents: files };
    // An empty list, or no file: no text (Dify answers an empty list either way).
    if (!files.length) return { inputs, processData, outputs: { text: [] } };
    const texts: string[] = [];
    for (const file of files) texts.push(await textOf(file, signal)); // one at a time: each may be large
    return { inputs, processData, outputs: { text: isList ? texts : texts[0] } };
  };
}
