// GraphQL operations generated from the served schema (introspected): every query, mutation and
// subscription field, with arguments of the right and the wrong types (as variables, mis-declared
// variables or inline literals), random selections of what they answer, and hostile envelopes.
import fc from "fast-check";
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from "graphql";
import { hostileJson, hostileNumber, hostileString, jsonText, RawJson } from "./hostile.js";
import { appOf, authArb, authHeaders, goodValue, modesFor, oneBad, type Auth, type FuzzApp, type Pools } from "./pools.js";
import { rarely, short } from "./rest-requests.js";

type Arg = { name: string; declared: string; how: "var" | "inline" | "misdeclared"; value: unknown; enumPosition: boolean };
type Selection = { name: string; args: Arg[]; sub: Selection[] | null } | { on: string; sub: Selection[] };

export type Transport = "post" | "get" | "sse" | "ws";

export class GqlRequest {
  constructor(
    readonly field: string,
    readonly transport: Transport,
    readonly document: string,
    readonly variables: Record<string, unknown>,
    readonly headers: Record<string, string>,
    /** The JSON body, hostile envelope included. */
    readonly body: string,
  ) {}
  [fc.toStringMethod]() {
    return `${this.transport} ${this.field}: ${short(this.document, 600)} body=${short(this.body, 400)} headers=${short(JSON.stringify(this.headers))}`;
  }
}

const MAX_DEPTH = 4;

export function graphqlRequestArb(schema: GraphQLSchema, pools: Pools): fc.Arbitrary<GqlRequest> {
  const roots = (["query", "mutation", "subscription"] as const).flatMap((kind) => {
    const type = kind === "query" ? schema.getQueryType() : kind === "mutation" ? schema.getMutationType() : schema.getSubscriptionType();
    return type ? Object.values(type.getFields()).map((field) => ({ kind, field })) : [];
  });
  const selections = new Map<string, fc.Arbitrary<Selection[] | null>>();

  function valueArb(type: GraphQLInputType, name: string, app: FuzzApp, depth = 0): fc.Arbitrary<unknown> {
    if (isNonNullType(type)) return fc.oneof({ weight: 15, arbitrary: valueArb(type.ofType, name, app, depth) }, { weight: 1, arbitrary: fc.constant(null) });
    return fc.oneof({ weight: 16, arbitrary: typedArb(type, name, app, depth) }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: hostileJson });
  }

  function typedArb(type: GraphQLInputType, name: string, app: FuzzApp, depth: number): fc.Arbitrary<unknown> {
    if (isNonNullType(type)) return typedArb(type.ofType, name, app, depth);
    if (isListType(type)) {
      const good = goodValue(name, app, pools, "graphql");
      const item = valueArb(type.ofType, name, app, depth + 1);
      // Long lists repeat a short item: long lists of 300k strings would only test the body cap.
      const long = fc.tuple(fc.integer({ min: 11, max: 2_000 }), good ?? fc.constantFrom("x", 1, null)).map(([n, v]) => Array.from({ length: n }, () => (Array.isArray(v) ? v[0] : v)));
      return fc.oneof(...(good ? [good] : []), fc.array(item, { maxLength: 3 }), item, long);
    }
    if (isInputObjectType(type)) {
      const fields = Object.values(type.getFields());
      const known = oneBad(Object.fromEntries(fields.map((f) => [f.name, { good: goodArb(f.type, f.name, app, depth + 1), hostile: valueArb(f.type, f.name, app, depth + 1) }])));
      return fc
        .tuple(known, rarely(fc.tuple(fc.constantFrom("extra", "__proto__", ...fields.map((f) => f.name)), hostileJson), 8))
        .map(([value, extra]) => (extra ? { ...value, [extra[0]]: extra[1] } : value));
    }
    if (isEnumType(type)) return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...type.getValues().map((v) => v.name)) }, { weight: 1, arbitrary: hostileString });
    const good = goodValue(name, app, pools, "graphql");
    const hostile: fc.Arbitrary<unknown> =
      type.name === "Int" || type.name === "Float" ? fc.oneof(hostileNumber, fc.integer({ min: -5, max: 50 })) : type.name === "Boolean" ? fc.boolean() : type.name === "JSON" ? hostileJson : hostileString;
    return good ? fc.oneof({ weight: 3, arbitrary: good }, { weight: 2, arbitrary: hostile }) : hostile;
  }

  /** A value of the type that should pass: the field's good values, or a plain one; null when there is none (omit it). */
  function goodArb(type: GraphQLInputType, name: string, app: FuzzApp, depth: number): fc.Arbitrary<unknown> | null {
    if (isNonNullType(type)) return goodArb(type.ofType, name, app, depth) ?? typedArb(type.ofType, name, app, depth);
    const good = goodValue(name, app, pools, "graphql");
    if (good) return good;
    if (isListType(type)) {
      const item = goodArb(type.ofType, name, app, depth + 1);
      return item && fc.array(item, { maxLength: 2 });
    }
    if (isInputObjectType(type)) {
      const fields = Object.values(type.getFields()).flatMap((f) => {
        const a = goodArb(f.type, f.name, app, depth + 1);
        return a ? [[f.name, a] as const] : [];
      });
      return fc.record(Object.fromEntries(fields), { requiredKeys: [] });
    }
    if (isEnumType(type)) return fc.constantFrom(...type.getValues().map((v) => v.name));
    return null;
  }

  function argsArb(args: readonly GraphQLArgument[], app: FuzzApp): fc.Arbitrary<Arg[]> {
    const values = oneBad(Object.fromEntries(args.map((a) => [a.name, { good: goodArb(a.type, a.name, app, 0), hostile: valueArb(a.type, a.name, app) }])));
    const how = fc.oneof({ weight: 12, arbitrary: fc.constant<Arg["how"]>("var") }, { weight: 2, arbitrary: fc.constant<Arg["how"]>("inline") }, { weight: 1, arbitrary: fc.constant<Arg["how"]>("misdeclared") });
    return fc.tuple(values, fc.array(how, { minLength: args.length, maxLength: args.length })).map(([chosen, hows]) =>
      args.flatMap((a, i) => (a.name in chosen ? [{ name: a.name, declared: String(a.type), how: hows[i], value: chosen[a.name], enumPosition: isEnumType(getNamedType(a.type)) }] : [])),
    );
  }

  /** A random selection of what `type` answers, nested up to MAX_DEPTH; null for leaves. */
  function selectionArb(type: GraphQLOutputType, depth: number, app: FuzzApp): fc.Arbitrary<Selection[] | null> {
    const named = getNamedType(type);
    if (isLeafType(named)) return fc.constant(null);
    const key = `${named.name}:${depth}:${app.code}`;
    const cached = selections.get(key);
    if (cached) return cached;
    const typename: Selection = { name: "__typename", args: [], sub: null };
    let arb: fc.Arbitrary<Selection[] | null>;
    if (isUnionType(named) || isInterfaceType(named)) {
      const members = schema.getPossibleTypes(named);
      const own = isInterfaceType(named) ? Object.values(named.getFields()).filter((f) => isLeafType(getNamedType(f.type))).map((f) => ({ name: f.name, args: [], sub: null })) : [];
      arb = fc
        .tuple(...members.map((m) => fc.option(selectionArb(m, depth, app), { freq: 2 })))
        .map((subs) => [typename, ...own, ...subs.flatMap((sub, i) => (sub ? [{ on: members[i].name, sub }] : []))]);
    } else if (isObjectType(named)) {
      const fields = Object.values(named.getFields()).filter((f) => (depth < MAX_DEPTH || isLeafType(getNamedType(f.type))) && !f.args.some((a) => isNonNullType(a.type)));
      arb = fc
        .subarray(fields, { minLength: 0 })
        .chain((chosen) => fc.tuple(...chosen.map((f) => fc.record({ args: argsArb(f.args, app), sub: selectionArb(f.type, depth + 1, app) }))).map((parts) => [typename, ...parts.map((p, i) => ({ name: chosen[i].name, ...p }))]));
    } else arb = fc.constant([typename]);
    selections.set(key, arb);
    return arb;
  }

  return fc
    .constantFrom(...roots)
    .chain((root) => authArb(pools, modesFor(root.field.name)).map((auth) => ({ root, auth })))
    .chain(({ root, auth }) => {
      const app = pools.apps[appOf(auth)];
      const transports: Transport[] = root.kind === "subscription" ? ["sse", "sse", "ws", "post"] : ["post", "post", "post", "post", "get", "ws"];
      return fc.record({
        args: argsArb(root.field.args, app),
        sub: selectionArb(root.field.type, 1, app),
        transport: fc.constantFrom(...transports),
        envelope: rarely(fc.constantFrom("variables-string", "variables-array", "operationName", "query-number", "extensions", "second-operation"), 25),
      }).map(({ args, sub, transport, envelope }) => build(root.kind, root.field.name, args, sub, transport, envelope, auth, pools));
    });
}

function build(kind: string, field: string, args: Arg[], sub: Selection[] | null, transport: Transport, envelope: string | null, auth: Auth, pools: Pools): GqlRequest {
  const variables: Record<string, unknown> = {};
  const declarations: string[] = [];
  const printArgs = (list: Arg[]) => {
    if (!list.length) return "";
    const parts = list.map((a) => {
      if (a.how === "inline") return `${a.name}: ${literal(a.value, a.enumPosition)}`;
      const v = `v${declarations.length}`;
      declarations.push(`$${v}: ${a.how === "misdeclared" ? misdeclare(a.declared) : a.declared}`);
      variables[v] = a.value;
      return `${a.name}: $${v}`;
    });
    return `(${parts.join(", ")})`;
  };
  const printSelection = (list: Selection[] | null): string =>
    list === null ? "" : ` { ${list.map((s) => ("on" in s ? `... on ${s.on}${printSelection(s.sub)}` : `${s.name}${printArgs(s.args)}${printSelection(s.sub)}`)).join(" ")} }`;
  const body = `${field}${printArgs(args)}${printSelection(sub)}`;
  const document = `${kind} Fuzz${declarations.length ? `(${declarations.join(", ")})` : ""} { ${body} }`;
  let payload: Record<string, unknown> = { query: document, variables, operationName: "Fuzz" };
  if (envelope === "variables-string") payload = { ...payload, variables: "{}" };
  if (envelope === "variables-array") payload = { ...payload, variables: [variables] };
  if (envelope === "operationName") payload = { ...payload, operationName: "\u0000\ud800" };
  if (envelope === "query-number") payload = { ...payload, query: 1 };
  if (envelope === "extensions") payload = { ...payload, extensions: { persistedQuery: { version: 1, sha256Hash: "\ud800" } } };
  if (envelope === "second-operation") payload = { ...payload, query: `${document} query Other { __typename }`, operationName: null };
  return new GqlRequest(`${kind} ${field}`, transport, document, variables, authHeaders(auth, pools), jsonText(payload));
}

/** Another type than the argument's, so that the operation fails validation. */
function misdeclare(declared: string): string {
  const named = declared.replace(/[[\]!]/g, "");
  return declared.replace(named, named === "String" ? "Int" : "String");
}

/** A GraphQL literal for `value`; strings as JSON strings (GraphQL takes the same escapes). */
function literal(value: unknown, enumPosition: boolean): string {
  if (value instanceof RawJson) return value.text;
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return enumPosition && /^[_A-Za-z]\w*$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "1e400";
  if (typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => literal(v, enumPosition)).join(", ")}]`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${/^[_A-Za-z]\w*$/.test(k) ? k : JSON.stringify(k)}: ${literal(v, k === "type" || k === "transferMethod")}`)
    .join(", ")}}`;
}
