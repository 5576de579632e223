// Which reader a document goes to: by its extension when it has one, else by its MIME type (Dify's
// document extractor decides the same way, with the same lists and error wording).
import path from "node:path";
import { DocumentTextError } from "../../core/ports/document-text.js";

export type Format = "text" | "html" | "json" | "pdf" | "docx" | "csv" | "xlsx";

/** What each format's failures start with (Dify's wording). */
export const FAILURE_PREFIX: Record<Format, string> = {
  text: "Failed to decode plain text file",
  html: "Failed to extract text from HTML",
  json: "Failed to decode or parse JSON file",
  pdf: "Failed to extract text from PDF",
  docx: "Failed to extract text from DOCX",
  csv: "Failed to extract text from CSV",
  xlsx: "Failed to extract text from Excel file",
};

// Dify reads these (Markdown and source code among them) as plain text.
const PLAIN_EXTENSIONS = (
  ".txt .markdown .md .mdx .xml .c .h .cpp .hpp .cc .cxx .c++ .py .js .ts .jsx .tsx .java .php .rb .go .rs .swift .kt " +
  ".scala .sh .bash .bat .ps1 .sql .r .m .pl .lua .vim .asm .s .css .scss .less .sass .ini .cfg .conf .toml .env .log .vtt"
).split(" ");

const BY_EXTENSION = new Map<string, Format>([
  ...PLAIN_EXTENSIONS.map((e) => [e, "text"] as [string, Format]),
  [".html", "html"],
  [".htm", "html"],
  [".json", "json"],
  [".pdf", "pdf"],
  [".docx", "docx"],
  [".csv", "csv"],
  [".xlsx", "xlsx"],
]);

const BY_MIME = new Map<string, Format>([
  ["text/plain", "text"],
  ["text/markdown", "text"],
  ["text/xml", "text"],
  ["text/html", "html"],
  ["text/htm", "html"],
  ["application/json", "json"],
  ["application/pdf", "pdf"],
  ["application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"],
  ["text/csv", "csv"],
  ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"],
]);

// Formats Dify reads that appgraph does not: a clear refusal rather than "unsupported type".
const NOT_YET: Record<string, string> = {
  ".xls": "legacy .xls workbooks are not supported; save the file as .xlsx",
  "application/vnd.ms-excel": "legacy .xls workbooks are not supported; save the file as .xlsx",
  ".doc": "legacy .doc documents are not supported; save the file as .docx",
  "application/msword": "legacy .doc documents are not supported; save the file as .docx",
};

export function formatOf(fileName: string, mimeType: string | null): Format {
  const extension = path.extname(fileName).toLowerCase();
  const mime = (mimeType ?? "").split(";")[0].trim().toLowerCase();
  const key = extension || mime;
  if (NOT_YET[key]) throw new DocumentTextError(`Unsupported file type ${key}: ${NOT_YET[key]}`, "unsupported");
  if (extension) {
    const format = BY_EXTENSION.get(extension);
    if (!format) throw new DocumentTextError(`Unsupported Extension Type: ${extension}`, "unsupported");
    return format;
  }
  if (mime) {
    const format = BY_MIME.get(mime);
    if (!format) throw new DocumentTextError(`Unsupported MIME type: ${mime}`, "unsupported");
    return format;
  }
  throw new DocumentTextError("Unable to determine file type: MIME type or file extension is missing", "unsupported");
}
