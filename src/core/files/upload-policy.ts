// What an app lets its users upload: the union of its `file_upload` feature (Dify's current form with
// allowed_file_types / allowed_file_extensions / allowed_file_upload_methods, or the older
// `image: {enabled, transfer_methods}`) and its file-typed form variables. Dify's web client uploads a
// file only where one of these lets it; the gateway holds the same line.
import type { AppParameters } from "../apps/app-info.service.js";
import type { FileKind } from "./file-kinds.js";

export type TransferMethod = "local_file" | "remote_url";

type Rule = { types: Set<string>; extensions: Set<string>; methods: Set<string> };

const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
// Extensions are given as ".pdf" or "PDF": compared lower case without the dot.
const normalised = (exts: string[]) => new Set(exts.map((e) => e.toLowerCase().replace(/^\./, "")));

function rulesOf(parameters: AppParameters): Rule[] {
  const rules: Rule[] = [];
  const f = parameters.fileUpload as Record<string, any>;
  if (f?.enabled === true) {
    rules.push({
      types: new Set(list(f.allowed_file_types)),
      extensions: normalised(list(f.allowed_file_extensions)),
      methods: new Set(list(f.allowed_file_upload_methods ?? f.allowed_upload_methods)),
    });
  }
  if (f?.image?.enabled === true) {
    rules.push({ types: new Set(["image"]), extensions: new Set(), methods: new Set(list(f.image.transfer_methods)) });
  }
  for (const entry of parameters.userInputForm) {
    const [type, spec] = Object.entries(entry)[0] ?? [];
    if ((type !== "file" && type !== "file-list") || !spec || typeof spec !== "object") continue;
    const s = spec as Record<string, unknown>;
    rules.push({
      types: new Set(list(s.allowed_file_types)),
      extensions: normalised(list(s.allowed_file_extensions)),
      methods: new Set(list(s.allowed_file_upload_methods)),
    });
  }
  return rules;
}

/** Why the app refuses this file (a sentence), or null when some upload slot of the app takes it. */
export function refusal(parameters: AppParameters, kind: FileKind, extension: string, method: TransferMethod): string | null {
  const rules = rulesOf(parameters);
  if (!rules.length) return "This app does not accept file uploads.";
  const ext = extension.toLowerCase();
  const fits = (r: Rule) => (r.methods.size === 0 || r.methods.has(method)) && (kind === "custom" ? r.types.has("custom") && r.extensions.has(ext) : r.types.has(kind));
  if (rules.some(fits)) return null;
  if (!rules.some((r) => r.methods.size === 0 || r.methods.has(method))) return `This app does not accept files by ${method}.`;
  return `This app does not accept ${kind} files${ext ? ` (.${ext})` : ""}.`;
}

/**
 * The rule one slot of a request holds its files to (Dify's FileUploadConfig and
 * `is_file_valid_with_config`): the app's file_upload feature for `files`, or a file variable's spec.
 */
export type FileRule = {
  types: Set<string>;
  /** The custom bucket's extensions (lower case, no dot); null when the slot names none. */
  extensions: Set<string> | null;
  methods: Set<string>;
  /** Images' own transfer methods (the feature's), when they differ from `methods`. */
  imageMethods: Set<string> | null;
  /** How many images, and how many files, one request may carry (null: no limit). */
  imageLimit: number | null;
  limit: number | null;
};

// Dify's DEFAULT_FILE_NUMBER_LIMITS.
const DEFAULT_NUMBER_LIMITS = 3;
const count = (v: unknown): number | null => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : null);

/** The file_upload feature's rule, or null when the app takes no files with a message (Dify then drops them). */
export function featureRule(fileUpload: unknown): FileRule | null {
  const f = (fileUpload && typeof fileUpload === "object" ? fileUpload : {}) as Record<string, any>;
  if (f.enabled === true) {
    const methods = new Set(list(f.allowed_file_upload_methods ?? f.allowed_upload_methods));
    return {
      types: new Set(list(f.allowed_file_types)),
      extensions: Array.isArray(f.allowed_file_extensions) ? normalised(list(f.allowed_file_extensions)) : null,
      methods,
      imageMethods: methods,
      imageLimit: count(f.number_limits) ?? DEFAULT_NUMBER_LIMITS,
      limit: count(f.number_limits),
    };
  }
  // The older form: images only.
  if (f.image?.enabled === true) {
    const methods = new Set(list(f.image.transfer_methods));
    return { types: new Set(["image"]), extensions: null, methods, imageMethods: methods, imageLimit: count(f.image.number_limits) ?? DEFAULT_NUMBER_LIMITS, limit: null };
  }
  return null;
}

/** A file or file-list variable's rule (`max_length` bounds a list). */
export function variableRule(spec: Record<string, unknown>): FileRule {
  return {
    types: new Set(list(spec.allowed_file_types)),
    extensions: Array.isArray(spec.allowed_file_extensions) ? normalised(list(spec.allowed_file_extensions)) : null,
    methods: new Set(list(spec.allowed_file_upload_methods)),
    imageMethods: null,
    imageLimit: null,
    limit: count(spec.max_length),
  };
}

/** Why `rule` refuses the file (a sentence), or null when it takes it. */
export function fileRefusal(rule: FileRule, file: { type: string; extension: string; transferMethod: string; filename: string }): string | null {
  const ext = file.extension.toLowerCase().replace(/^\./, "");
  const typeAllowed = rule.types.size === 0 || rule.types.has(file.type);
  const failed = `File validation failed for file: ${file.filename}`;
  if (!typeAllowed && !rule.types.has("custom")) return `${failed} (this app does not take ${file.type} files).`;
  // In the custom bucket, the extension list decides (an empty list takes nothing).
  if ((file.type === "custom" || !typeAllowed) && rule.extensions && !rule.extensions.has(ext)) return `${failed} (.${ext || "?"} files are not allowed).`;
  const methods = file.type === "image" && rule.imageMethods ? rule.imageMethods : rule.methods;
  if (methods.size && !methods.has(file.transferMethod)) return `${failed} (files cannot be sent by ${file.transferMethod}).`;
  return null;
}

/** Why `rule` refuses this many files (Dify's number limits), or null. */
export function countRefusal(rule: FileRule, files: { type: string }[]): string | null {
  const images = files.filter((f) => f.type === "image").length;
  if (rule.imageLimit !== null && images > rule.imageLimit) return `Number of image files exceeds the maximum limit ${rule.imageLimit}`;
  if (rule.limit !== null && files.length > rule.limit) return `Number of files exceeds the maximum limit ${rule.limit}`;
  return null;
}
