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
