// Scalars, ids, and the typed error every field can return.
import { decodeGlobalID, encodeGlobalID } from "@pothos/plugin-relay";
import { builder } from "./builder.js";
import { AppError } from "../core/errors.js";
import { UUID } from "../core/conversations/scope.js";
import type { LoggedEvent } from "../core/ports/task-store.js";
import { MAX_JSON_DEPTH } from "../core/text.js";


/** The nesting depth of a JSON value (a scalar is 0), counted without recursion. */
function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > MAX_JSON_DEPTH) return deepest;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

builder.scalarType("JSON", {
  description: `Any JSON value, nested at most ${MAX_JSON_DEPTH} deep.`,
  serialize: (v) => v,
  parseValue: (v) => {
    if (jsonDepth(v) > MAX_JSON_DEPTH) throw new TypeError(`JSON values may nest at most ${MAX_JSON_DEPTH} deep`);
    return v;
  },
});

builder.scalarType("DateTime", {
  description: "An ISO-8601 timestamp in UTC, with milliseconds.",
  serialize: (d) => d.toISOString(),
  parseValue: (v) => {
    const d = new Date(String(v));
    if (Number.isNaN(d.getTime())) throw new TypeError("DateTime must be an ISO-8601 timestamp");
    return d;
  },
});

/** An AppError as a plain value: graphql-js treats a returned Error instance as a thrown one, so streams yield this. */
export type AppErrorValue = { __typename: "AppError"; code: string; message: string; status: number; params?: string };

export const appErrorValue = (err: AppError): AppErrorValue => ({
  __typename: "AppError",
  code: err.code,
  message: err.message,
  status: err.status,
  params: err.params,
});

builder.objectType(AppError, {
  name: "AppError",
  isTypeOf: (value) => value instanceof AppError || (value as AppErrorValue | null)?.__typename === "AppError",
  description: "A domain error, with the code and HTTP status Dify's Web API uses for it.",
  fields: (t) => ({
    code: t.exposeString("code", { description: "Dify's error code, e.g. `not_found` or `invalid_param`." }),
    message: t.exposeString("message"),
    status: t.exposeInt("status", { description: "The HTTP status the REST surface answers with." }),
    params: t.exposeString("params", { nullable: true, description: "The offending field, where there is one." }),
  }),
});

builder.queryType({});
builder.mutationType({});

/** The global id of a node (`Conversation`, `Message`, `WorkflowRun`): what its `id` field answers. */
export const globalId = (typename: string, id: string) => encodeGlobalID(typename, id);

/**
 * The record id an id argument names: a global id of `typename`, or the bare UUID the REST surface
 * uses. Anything else is passed on as it is, and names nothing (the core answers "not found").
 */
export function recordId(value: string | number | null | undefined, typename: string): string | null {
  if (value === null || value === undefined) return null;
  const text = String(value);
  if (UUID.test(text)) return text;
  try {
    const decoded = decodeGlobalID(text);
    if (decoded.typename === typename) return decoded.id;
  } catch {
    // not a global id
  }
  return text;
}

const FileType = builder.enumType("FileType", {
  values: { IMAGE: { value: "image" }, DOCUMENT: { value: "document" }, AUDIO: { value: "audio" }, VIDEO: { value: "video" }, CUSTOM: { value: "custom" } } as const,
});

const TransferMethod = builder.enumType("TransferMethod", {
  values: { REMOTE_URL: { value: "remote_url" }, LOCAL_FILE: { value: "local_file" } } as const,
});

export const FileInput = builder.inputType("FileInput", {
  description: "A file to send with a message or run: a URL the server fetches, or an uploaded file's id.",
  fields: (t) => ({
    type: t.field({ type: FileType, required: true }),
    transferMethod: t.field({ type: TransferMethod, required: true }),
    url: t.string({ description: "For REMOTE_URL." }),
    uploadFileId: t.id({ description: "For LOCAL_FILE." }),
  }),
});

/** Typed file inputs as the core takes file references (Dify's request shape). */
export const fileReferences = (files: { type: string; transferMethod: string; url?: string | null; uploadFileId?: string | number | null }[] | null | undefined) =>
  files?.map((f) => ({ type: f.type, transfer_method: f.transferMethod, url: f.url ?? undefined, upload_file_id: f.uploadFileId ?? undefined }));

/**
 * A subscription's stream: the events `open` gives, each with its sequence number, or the one AppError
 * that kept it from starting. Returning early (the client unsubscribed) ends the reading, not the task.
 */
export async function* subscriptionStream(open: () => Promise<(signal?: AbortSignal) => AsyncIterable<LoggedEvent>>): AsyncGenerator<unknown> {
  let events: AsyncIterable<LoggedEvent>;
  try {
    events = (await open())();
  } catch (err) {
    if (err instanceof AppError) {
      yield appErrorValue(err);
      return;
    }
    throw err;
  }
  for await (const { seq, event } of events) yield { ...(event as object), seq };
}
