// The values a run has produced, addressed as Dify addresses them: selectors like
// ["node_id", "text"], ["sys", "query"], ["env", "API_BASE"], ["conversation", "memory"],
// optionally followed by object keys, and `{{#node_id.text#}}` references inside text.

import type { FileValue } from "../files/file-refs.js";
import { pyJson, pyRepr, pyStr } from "./python-format.js";

const REFERENCE = /\{\{#([a-zA-Z0-9_]{1,50}(?:\.[a-zA-Z_0-9][a-zA-Z0-9_]{0,29}){1,10})#\}\}/g;

export class VariablePool {
  private readonly values = new Map<string, Record<string, unknown>>();

  constructor(initial: Record<string, Record<string, unknown>> = {}) {
    for (const [owner, vars] of Object.entries(initial)) this.values.set(owner, { ...vars });
  }

  /** Record a node's outputs (or sys/env/conversation variables). */
  set(owner: string, variables: Record<string, unknown>) {
    this.values.set(owner, { ...(this.values.get(owner) ?? {}), ...variables });
  }

  setOne(owner: string, name: string, value: unknown) {
    this.set(owner, { [name]: value });
  }

  get(selector: readonly string[] | null | undefined): unknown {
    if (!selector || selector.length < 2) return undefined;
    const [owner, name, ...path] = selector;
    let value: unknown = this.values.get(owner)?.[name];
    for (const key of path) {
      if (value === null || typeof value !== "object") return undefined;
      value = (value as Record<string, unknown>)[key];
    }
    return value;
  }

  ownerValues(owner: string): Record<string, unknown> | undefined {
    return this.values.get(owner);
  }

  /**
   * Replace every `{{#a.b#}}` with the value's text (unknown references become ""). Prompts use
   * `text`; answer nodes show `markdown` (lists as bullets, files as links), as Dify's do.
   */
  render(template: string, as: "text" | "markdown" = "text"): string {
    const show = as === "markdown" ? markdownOf : textOf;
    return template.replace(REFERENCE, (_whole, path: string) => show(this.get(path.split("."))));
  }

  /** The template split into text and references, for streaming through answer and end nodes. */
  static segments(template: string): ({ text: string } | { selector: string[] })[] {
    const out: ({ text: string } | { selector: string[] })[] = [];
    let last = 0;
    for (const m of template.matchAll(REFERENCE)) {
      if (m.index! > last) out.push({ text: template.slice(last, m.index) });
      out.push({ selector: m[1].split(".") });
      last = m.index! + m[0].length;
    }
    if (last < template.length) out.push({ text: template.slice(last) });
    return out;
  }

  /** Everything, for persisting a paused run. */
  snapshot(): Record<string, Record<string, unknown>> {
    return Object.fromEntries(this.values);
  }
}

/** A file value (Dify's serialised File, see files/file-refs.ts). */
function isFile(value: unknown): value is FileValue {
  return !!value && typeof value === "object" && (value as FileValue).dify_model_identity === "__dify__file__";
}

/**
 * A value as text, the way Dify's segments render it (`Segment.text`): none and files are "",
 * numbers and booleans print as Python's str() does ("True"), objects as json.dumps, lists of
 * strings as json.dumps, other lists as Python's str() of the list; an empty list is "".
 */
export function textOf(value: unknown): string {
  if (value === null || value === undefined || isFile(value)) return "";
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    if (value.length === 0 || value.every(isFile)) return "";
    return value.every((v) => typeof v === "string") ? pyJson(value) : pyRepr(value);
  }
  if (typeof value === "object") return pyJson(value);
  return pyStr(value);
}

/**
 * A value as an answer node shows it (`Segment.markdown`): files as markdown links (images as
 * images), objects as indented JSON, lists as "- item" lines, anything else as its text.
 */
export function markdownOf(value: unknown): string {
  if (isFile(value)) return fileMarkdown(value);
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every(isFile)) return value.map(fileMarkdown).join("\n");
    return value.map((item) => `- ${pyStr(item)}`).join("\n");
  }
  if (value !== null && typeof value === "object") return pyJson(value, 2);
  return textOf(value);
}

function fileMarkdown(file: FileValue): string {
  const url = file.url || file.remote_url;
  return file.type === "image" ? `![${file.filename ?? ""}](${url})` : `[${file.filename || url}](${url})`;
}

/** A copy for one iteration or loop round: writes stay in the copy. */
export function forkPool(pool: VariablePool): VariablePool {
  return new VariablePool(structuredClone(pool.snapshot()));
}
