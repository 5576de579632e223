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
