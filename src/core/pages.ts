// One page of a keyset-paged list, as every list use case returns it.
import { invalidParam } from "./errors.js";

export type Page<T> = {
  items: T[];
  /** More rows beyond this page, in the direction of the paging. */
  hasMore: boolean;
  /** The page size that was asked for. */
  limit: number;
};

/** Dify's `limit`: an integer 1..100, default 20. */
export function parseLimit(value: unknown, field = "limit"): number {
  if (value === undefined || value === null) return 20;
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= 1 && value <= 100) return value;
  } else if (typeof value === "string" && /^\s*\+?\d+\s*$/.test(value)) {
    const n = Number(value);
    if (n >= 1 && n <= 100) return n;
  }
  throw invalidParam(`${field} must be an integer between 1 and 100`, field);
}
