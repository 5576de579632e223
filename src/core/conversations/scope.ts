// The one place that says which rows an end user may see (behaviour.md 2.4): their own, in this app,
// from the web app. Every read and write of end-user data goes through these filters.
import type { Viewer } from "../auth/passport.service.js";
import { invalidParam } from "../errors.js";

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const ownConversations = (v: Viewer) =>
  ({ appId: v.app.id, fromSource: "api", fromEndUserId: v.endUser.id, isDeleted: false }) as const;

export const ownMessages = (v: Viewer) => ({ appId: v.app.id, fromSource: "api", fromEndUserId: v.endUser.id }) as const;

/** Dify's `uuid_value` fields accept "" as "absent"; anything else must be a UUID. */
export function optionalUuid(value: unknown, field: string): string | null {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string" || !UUID.test(value)) {
    throw invalidParam(`${field} is not a valid uuid`, field);
  }
  return value.toLowerCase();
}

/** A path id that can name a row (a UUID, lower-cased), or null for anything else. */
export const uuidOrNull = (id: unknown) => (typeof id === "string" && UUID.test(id) ? id.toLowerCase() : null);
