// Which kind a file is (Dify's FileType, decided by extension), the MIME type an extension implies,
// and the extensions Dify refuses outright (UPLOAD_FILE_EXTENSION_BLACKLIST's usual contents).
export type FileKind = "image" | "document" | "audio" | "video" | "custom";

// graphon's file/constants.py lists, lower case, without dots.
const KINDS: Record<Exclude<FileKind, "custom">, string[]> = {
  image: ["jpg", "jpeg", "png", "webp", "gif", "svg"],
  video: ["mp4", "mov", "mpeg", "webm"],
  audio: ["mp3", "m4a", "wav", "amr", "mpga"],
  document: ["txt", "markdown", "md", "mdx", "pdf", "html", "htm", "xlsx", "xls", "vtt", "properties", "doc", "docx", "csv", "eml", "msg", "pptx", "xml", "epub", "ppt"],
};

const KIND_OF = new Map(Object.entries(KINDS).flatMap(([kind, exts]) => exts.map((e) => [e, kind as FileKind])));

export function kindOfExtension(extension: string): FileKind {
  return KIND_OF.get(extension.toLowerCase()) ?? "custom";
}

/** Executables and scripts: never stored, whatever the app allows. */
export const BLOCKED_EXTENSIONS = new Set(["exe", "dll", "bat", "cmd", "com", "scr", "msi", "ps1", "sh", "vbs", "js", "jar", "apk", "app", "dmg", "so", "dylib", "elf", "bin"]);

// Types file-type finds in executables: whatever the name says, such bytes are refused.
export const EXECUTABLE_TYPES = new Set(["exe", "elf", "macho", "dmg", "msi", "deb", "rpm", "apk", "class", "wasm", "dex", "lnk", "cab"]);

const MIME: Record<string, string> = {
  jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", webp: "image/webp", gif: "image/gif", svg: "image/svg+xml",
  mp4: "video/mp4", mov: "video/quicktime", mpeg: "video/mpeg", webm: "video/webm",
  mp3: "audio/mpeg", m4a: "audio/mp4", wav: "audio/x-wav", amr: "audio/amr", mpga: "audio/mpeg",
  txt: "text/plain", markdown: "text/markdown", md: "text/markdown", mdx: "text/markdown", pdf: "application/pdf",
  html: "text/html", htm: "text/html", csv: "text/csv", xml: "text/xml", json: "application/json", vtt: "text/vtt",
  properties: "text/x-java-properties", eml: "message/rfc822", msg: "application/vnd.ms-outlook", epub: "application/epub+zip",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xls: "application/vnd.ms-excel",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", doc: "application/msword",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation", ppt: "application/vnd.ms-powerpoint",
};

export function mimeOfExtension(extension: string): string | undefined {
  return MIME[extension.toLowerCase()];
}

/** Extensions whose bytes are text: file-type recognises none of them (XML and SVG aside). */
const TEXT = new Set(["txt", "markdown", "md", "mdx", "html", "htm", "csv", "xml", "vtt", "properties", "eml", "svg", "json"]);
// Containers file-type names by their wrapper: an Office file or EPUB may sniff as a bare zip or CFB.
const CONTAINERS: Record<string, string[]> = {
  docx: ["zip"], xlsx: ["zip"], pptx: ["zip"], epub: ["zip"], doc: ["cfb"], xls: ["cfb"], ppt: ["cfb"], msg: ["cfb"],
  mpga: ["mp3"], m4a: ["mp4", "m4a"], mov: ["qt", "mov"], mp4: ["m4v", "mov", "qt"], jpeg: ["jpg"], svg: ["xml"], xml: ["xml"],
};

/**
 * Whether bytes sniffed as `sniffed` (file-type's extension, or undefined when unrecognised) may be a
 * file named `.extension`. Pictures, sound and video must be what they claim; text must not be binary;
 * any kind of file must not be an executable.
 */
export function bytesFitExtension(extension: string, sniffed: { ext: string; mime: string } | undefined): boolean {
  const ext = extension.toLowerCase();
  if (sniffed && EXECUTABLE_TYPES.has(sniffed.ext)) return false;
  const kind = kindOfExtension(ext);
  if (TEXT.has(ext)) return !sniffed || (CONTAINERS[ext] ?? []).includes(sniffed.ext);
  if (kind === "custom") return true;
  if (!sniffed) return false; // a picture, recording or binary document file-type cannot place is not one
  if (sniffed.ext === ext || (CONTAINERS[ext] ?? []).includes(sniffed.ext)) return true;
  // Within one medium, a mislabelled extension (a PNG named .jpg) is still what it says it is.
  return (kind === "image" || kind === "audio" || kind === "video") && sniffed.mime.startsWith(`${kind}/`);
}
