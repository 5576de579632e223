// Text that users send must be text the database and the model can take: PostgreSQL refuses NUL in
// text columns and lone UTF-16 surrogates cannot be encoded, so either would otherwise fail late
// (after a model call, or as a 500) instead of as the client's 400.
import { invalidParam } from "./errors.js";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `value` if it is well-formed text without NUL; Dify's 400 naming `field` otherwise. */
export function wellFormedText(value: string, field: string): string {
  if (value.includes("\u0000")) throw invalidParam(`${field} must not contain NUL characters`, field);
  if (LONE_SURROGATE.test(value)) throw invalidParam(`${field} is not well-formed text (a lone UTF-16 surrogate)`, field);
  return value;
}

/** Deeper than this, a JSON value is refused: PostgreSQL's jsonb and every recursive walk of it have a limit. */
export const MAX_JSON_DEPTH = 64;

/**
 * A JSON value bound for a JSON column (inputs, form answers), with NUL removed from every string and
 * key (Dify strips it from inputs); Dify's 400 naming `field` for a lone surrogate or deep nesting.
 * Iterative, so that a value nested 100,000 deep is refused rather than overflowing the stack.
 */
export function storableJson(value: unknown, field: string): unknown {
  const clean = (v: unknown): unknown => {
    if (typeof v !== "string") return v;
    const text = v.includes("\u0000") ? v.replaceAll("\u0000", "") : v;
    if (LONE_SURROGATE.test(text)) throw invalidParam(`${field} is not well-formed text (a lone UTF-16 surrogate)`, field);
    return text;
  };
  // Each entry: a container already copied, the original it copies, and its depth.
  const stack: [Record<string, unknown> | unknown[], Record<string, unknown> | unknown[], number][] = [];
  const copy = (v: unknown, depth: number): unknown => {
    if (typeof v !== "object" || v === null) return clean(v);
    if (depth > MAX_JSON_DEPTH) throw invalidParam(`${field} is nested more than ${MAX_JSON_DEPTH} levels deep`, field);
    const out: Record<string, unknown> | unknown[] = Array.isArray(v) ? [] : {};
    stack.push([out, v as Record<string, unknown>, depth]);
    return out;
  };
  const top = copy(value, 1);
  while (stack.length) {
    const [out, original, depth] = stack.pop()!;
    if (Array.isArray(out)) for (const item of original as unknown[]) out.push(copy(item, depth + 1));
    else {
      const entries = Object.entries(original).map(([k, v]) => [clean(k) as string, copy(v, depth + 1)] as const);
      // fromEntries-like, so that a key named "__proto__" stays an own key.
      for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
  return top;
}
