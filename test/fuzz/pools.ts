// What the fuzz requests draw their good values from: the imported apps, their passports and real ids
// made while setting up, so that requests get past authentication and lookups into the code behind.
import fc from "fast-check";
import { hostileHeader, hostileJson } from "./hostile.js";

export type FuzzApp = { mode: string; code: string; appId: string; passport: string; inputs: Record<string, unknown> };

export type Pools = {
  apps: FuzzApp[];
  conversationIds: string[];
  messageIds: string[];
  taskIds: string[];
  runIds: string[];
  formTokens: string[];
};

/** The credentials a request carries: a valid passport (in one of its carriers), another app's, a bad one, or none. */
export type Auth =
  | { kind: "passport"; app: number; carrier: "x-app-passport" | "authorization" | "cookie" }
  | { kind: "mismatch"; app: number; codeOf: number }
  | { kind: "bad"; value: string; carrier: "x-app-passport" | "authorization" }
  | { kind: "none" };

const CHAT_MODES = ["chat", "agent-chat", "advanced-chat"];

/**
 * The app modes a route or field serves (by its path or name), so that most requests carry a passport
 * that gets past the mode check into the code behind it; null: any.
 */
export function modesFor(name: string): string[] | null {
  if (/completion|saved?-?messages?|moreLikeThis|more-like-this/i.test(name)) return ["completion"];
  if (/workflow|runEvents|run_id/i.test(name)) return ["workflow"];
  if (/chat|conversation|suggested|feedbacks|rateMessage/i.test(name)) return CHAT_MODES;
  return null;
}

export function authArb(pools: Pools, modes: string[] | null = null): fc.Arbitrary<Auth> {
  const fitting = pools.apps.flatMap((a, i) => (!modes || modes.includes(a.mode) ? [i] : []));
  const app = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...fitting) }, { weight: 1, arbitrary: fc.nat(pools.apps.length - 1) });
  return fc.oneof(
    { weight: 12, arbitrary: fc.record({ kind: fc.constant("passport" as const), app, carrier: fc.constantFrom("x-app-passport" as const, "authorization" as const, "cookie" as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("mismatch" as const), app, codeOf: app }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("bad" as const), value: hostileHeader, carrier: fc.constantFrom("x-app-passport" as const, "authorization" as const) }) },
    { weight: 1, arbitrary: fc.constant({ kind: "none" as const }) },
  );
}

export function authHeaders(auth: Auth, pools: Pools): Record<string, string> {
  switch (auth.kind) {
    case "passport": {
      const app = pools.apps[auth.app];
      if (auth.carrier === "cookie") return { "x-app-code": app.code, cookie: `passport-${app.code}=${app.passport}` };
      return auth.carrier === "authorization" ? { authorization: `Bearer ${app.passport}` } : { "x-app-passport": app.passport };
    }
    case "mismatch":
      return { "x-app-passport": pools.apps[auth.app].passport, "x-app-code": pools.apps[auth.codeOf].code };
    case "bad":
      return auth.carrier === "authorization" ? { authorization: auth.value } : { "x-app-passport": auth.value };
    case "none":
      return {};
  }
}

/** The app whose values a request uses: the passport's app, else any. */
export const appOf = (auth: Auth) => (auth.kind === "passport" || auth.kind === "mismatch" ? auth.app : 0);

const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString("base64");

/**
 * Good values for a field, by its name on either surface (`conversation_id` and `conversationId` alike),
 * or null for a name we know nothing about (it then gets hostile values only).
 */
export function goodValue(name: string, app: FuzzApp, pools: Pools, surface: "rest" | "graphql"): fc.Arbitrary<unknown> | null {
  const key = name.toLowerCase().replace(/_/g, "");
  const pick = <T>(list: T[]) => (list.length ? fc.constantFrom(...list) : null);
  const ids = (list: string[], type: string) =>
    surface === "graphql" && list.length ? fc.oneof(fc.constantFrom(...list), fc.constantFrom(...list).map((id) => globalId(type, id))) : pick(list);
  const number = (...values: number[]) => (surface === "rest" ? fc.constantFrom(...values.map(String)) : fc.constantFrom(...values));
  switch (key) {
    case "query":
      return fc.constantFrom("Hello", "Plan a short trip", "");
    case "inputs":
      return inputsArb(app);
    case "conversationid":
    case "lastid":
      return ids(pools.conversationIds.concat(key === "lastid" ? pools.messageIds : []), "Conversation");
    case "messageid":
    case "parentmessageid":
    case "firstid":
      return ids(pools.messageIds, "Message");
    case "id":
      return fc.oneof(...[ids(pools.conversationIds, "Conversation"), ids(pools.messageIds, "Message"), ids(pools.runIds, "WorkflowRun")].filter((a) => a !== null));
    case "taskid":
      return pick(pools.taskIds);
    case "runid":
      return ids(pools.runIds, "WorkflowRun");
    case "formtoken":
    case "token":
      return pick(pools.formTokens);
    case "files":
      return fc.constant(
        surface === "rest"
          ? [{ type: "image", transfer_method: "remote_url", url: "http://127.0.0.1:9/cat.png" }]
          : [{ type: "IMAGE", transferMethod: "REMOTE_URL", url: "http://127.0.0.1:9/cat.png" }],
      );
    case "responsemode":
      return fc.constantFrom("blocking", "streaming");
    case "name":
      return fc.constantFrom("Trip", "A");
    case "autogenerate":
    case "pinned":
    case "includestatesnapshot":
      return surface === "rest" ? fc.constantFrom("true", "false") : fc.boolean();
    case "rating":
      return surface === "rest" ? fc.constantFrom("like", "dislike", null) : fc.constantFrom("LIKE", "DISLIKE", null);
    case "content":
      return fc.constantFrom("good", "");
    case "action":
      return fc.constantFrom("yes", "no");
    case "limit":
    case "first":
    case "last":
      return number(1, 5, 20, 100);
    case "after":
      return surface === "rest" ? null : number(0, 1, 3);
    case "cursor":
    case "lasteventid":
      return fc.constantFrom("0", "2");
    case "sortby":
      return surface === "rest"
        ? fc.constantFrom("created_at", "-created_at", "updated_at", "-updated_at")
        : fc.constantFrom("CREATED_AT", "CREATED_AT_DESC", "UPDATED_AT", "UPDATED_AT_DESC");
    case "userid":
      return fc.constantFrom("fuzz-user", "someone-else");
    case "appcode":
    case "xappcode":
      return fc.constantFrom(...pools.apps.map((a) => a.code));
    case "appid":
      return fc.constantFrom(...pools.apps.map((a) => a.appId));
    default:
      return null;
  }
}

/**
 * An object whose fields are good but one (a valid request with one bad field gets furthest into the
 * code), or whose fields are each good, hostile or absent. `good` null: the field has no good values.
 */
export function oneBad(fields: Record<string, { good: fc.Arbitrary<unknown> | null; hostile: fc.Arbitrary<unknown> }>): fc.Arbitrary<Record<string, unknown>> {
  const names = Object.keys(fields);
  if (!names.length) return fc.constant({});
  const each = (pick: (name: string) => fc.Arbitrary<unknown>) => fc.record(Object.fromEntries(names.map((n) => [n, pick(n)])));
  const goodOrAbsent = (n: string) => fields[n].good ?? fc.constant(undefined);
  const independent = fc.record(Object.fromEntries(names.map((n) => [n, fields[n].good ? fc.oneof({ weight: 3, arbitrary: fields[n].good! }, { weight: 2, arbitrary: fields[n].hostile }) : fields[n].hostile])), { requiredKeys: [] });
  const withOneBad = fc.constantFrom(...names).chain((bad) => each((n) => (n === bad ? fields[n].hostile : goodOrAbsent(n))));
  return fc
    .oneof({ weight: 3, arbitrary: withOneBad }, { weight: 1, arbitrary: independent }, { weight: 1, arbitrary: each(goodOrAbsent) })
    .map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)));
}

/** The app's valid inputs, with one or more values swapped for hostile ones. */
function inputsArb(app: FuzzApp): fc.Arbitrary<unknown> {
  const keys = Object.keys(app.inputs);
  if (!keys.length) return fc.oneof(fc.constant({}), fc.dictionary(fc.constantFrom("x", "query", "__proto__"), hostileJson, { maxKeys: 2 }));
  return oneBad(Object.fromEntries(keys.map((k) => [k, { good: fc.constant(app.inputs[k]), hostile: hostileJson }])));
}

/** A field's value: mostly good when we have good values, hostile otherwise. */
export function fieldValue(name: string, app: FuzzApp, pools: Pools, surface: "rest" | "graphql", hostile: fc.Arbitrary<unknown> = hostileJson): fc.Arbitrary<unknown> {
  const good = goodValue(name, app, pools, surface);
  return good ? fc.oneof({ weight: 3, arbitrary: good }, { weight: 2, arbitrary: hostile }) : hostile;
}
