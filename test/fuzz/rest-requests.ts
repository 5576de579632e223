// REST requests generated from the route table: every route of createRestRouter(), its path params,
// and the query params, headers and JSON body fields its handler reads, plus extra fields.
import fc from "fast-check";
import { hostileJson, hostileUrlPiece, jsonText, RawJson, deepJson } from "./hostile.js";
import { appOf, authArb, authHeaders, fieldValue, goodValue, modesFor, oneBad, type Pools } from "./pools.js";

/** What each route's handler reads besides its path params. A route missing here fails the test. */
export const REST_FIELDS: Record<string, { query?: string[]; body?: string[]; headers?: string[] }> = {
  "GET /passport": { query: ["user_id"], headers: ["x-app-code"] },
  "GET /login/status": { query: ["app_code", "user_id"] },
  "POST /logout": {},
  "GET /site": {},
  "GET /parameters": {},
  "GET /meta": {},
  "GET /system-features": {},
  "GET /webapp/access-mode": { query: ["appId", "appCode"] },
  "GET /webapp/permission": { query: ["appId"] },
  "POST /chat-messages": { body: ["query", "inputs", "conversation_id", "parent_message_id", "files", "response_mode"] },
  "POST /completion-messages": { body: ["query", "inputs", "response_mode"] },
  "GET /messages/:message_id/more-like-this": { query: ["response_mode"] },
  "POST /chat-messages/:task_id/stop": {},
  "POST /completion-messages/:task_id/stop": {},
  "GET /messages/:message_id/suggested-questions": {},
  "GET /chat-messages/:task_id/events": { query: ["cursor"], headers: ["last-event-id"] },
  "GET /completion-messages/:task_id/events": { query: ["cursor"], headers: ["last-event-id"] },
  "GET /conversations": { query: ["last_id", "limit", "pinned", "sort_by"] },
  "DELETE /conversations/:c_id": {},
  "POST /conversations/:c_id/name": { body: ["name", "auto_generate"] },
  "PATCH /conversations/:c_id/pin": {},
  "PATCH /conversations/:c_id/unpin": {},
  "GET /messages": { query: ["conversation_id", "first_id", "limit"] },
  "POST /messages/:message_id/feedbacks": { body: ["rating", "content"] },
  "GET /saved-messages": { query: ["last_id", "limit"] },
  "POST /saved-messages": { body: ["message_id"] },
  "DELETE /saved-messages/:message_id": {},
  "POST /workflows/run": { body: ["inputs", "files"] },
  "GET /workflow/:run_id/events": { query: ["cursor", "include_state_snapshot"], headers: ["last-event-id"] },
  "POST /workflows/tasks/:task_id/stop": {},
  "GET /form/human_input/:form_token": {},
  "POST /form/human_input/:form_token": { body: ["action", "inputs"] },
  // Multipart: the fuzzer sends JSON and raw bodies, which must be a 400 no_file_uploaded (test/files covers forms).
  "POST /files/upload": { body: ["file", "source"] },
  "POST /remote-files/upload": { body: ["url"] },
  "GET /remote-files/:url": {},
  // Multipart too: JSON and raw bodies must be a 400 bad_request_key_error (test/speech covers forms).
  "POST /audio-to-text": { body: ["file"] },
  "POST /text-to-audio": { body: ["text", "message_id", "voice", "streaming"] },
};

export type Route = { method: string; path: string };

/** One generated request; printed short, since its strings can be 300k characters long. */
export class RestRequest {
  constructor(
    readonly route: string,
    readonly method: string,
    /** Path and query, percent-encoded as sent (hostile escapes included). */
    readonly target: string,
    readonly headers: Record<string, string>,
    readonly body: string | Uint8Array | undefined,
  ) {}
  [fc.toStringMethod]() {
    const body = this.body === undefined ? "" : typeof this.body === "string" ? ` body=${short(this.body)}` : ` body=bytes(${Buffer.from(this.body).toString("hex").slice(0, 80)})`;
    return `${this.method} ${short(this.target)} [${this.route}] headers=${short(JSON.stringify(this.headers))}${body}`;
  }
}

export const short = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/** `arb` one time in `n + 1`, else null (fc.option's `freq` is the other way round: null one time in `freq`). */
export const rarely = <T>(arb: fc.Arbitrary<T>, n: number) => fc.oneof({ weight: n, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

/** A good value as URL text, or null when the name has none. */
function goodUrlValue(name: string, app: Pools["apps"][number], pools: Pools): fc.Arbitrary<string> | null {
  return goodValue(name, app, pools, "rest")?.filter((v) => v !== null).map((v) => encodeURIComponent(String(v))) ?? null;
}

/** Path values as URL text: good values encoded, hostile pieces as written. */
function urlValue(name: string, app: Pools["apps"][number], pools: Pools): fc.Arbitrary<string> {
  const good = goodUrlValue(name, app, pools);
  return good ? fc.oneof({ weight: 3, arbitrary: good }, { weight: 2, arbitrary: hostileUrlPiece }) : hostileUrlPiece;
}

const RAW_BODIES: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.constantFrom("", "{", "null", "[]", '"x"', "1", "\ufeff{}", '{"query":"\\ud800","inputs":{}}', '{"query":"a\\u0000b"}', '{"inputs":{"a":"\\udfff"}}'),
  deepJson.map((d) => d.text),
  deepJson.map((d) => `{"inputs":${d.text},"query":"hi","name":${d.text}}`),
  // Invalid UTF-8 inside a JSON string: {"query":"\xff\xfe","name":"\xc0\x80"}
  fc.constant(Uint8Array.from([...Buffer.from('{"query":"'), 0xff, 0xfe, ...Buffer.from('","name":"'), 0xc0, 0x80, ...Buffer.from('"}')])),
  fc.constant(Uint8Array.from([...Buffer.from('{"query":"'), 0xed, 0xa0, 0x80, ...Buffer.from('"}')])),
);

function bodyArb(fields: string[], app: Pools["apps"][number], pools: Pools): fc.Arbitrary<{ text: string | Uint8Array; type: string | null }> {
  const known = oneBad(Object.fromEntries(fields.map((f) => [f, { good: goodValue(f, app, pools, "rest"), hostile: hostileJson }])));
  const object = fc
    .tuple(known, rarely(fc.dictionary(fc.string({ maxLength: 10 }), hostileJson, { minKeys: 1, maxKeys: 2 }), 2))
    .map(([values, extra]) => jsonText({ ...extra, ...values }));
  return fc.record({
    text: fc.oneof({ weight: 12, arbitrary: object }, { weight: 2, arbitrary: RAW_BODIES }, { weight: 1, arbitrary: hostileJson.map(jsonText) }),
    type: fc.oneof({ weight: 12, arbitrary: fc.constant("application/json") }, { weight: 1, arbitrary: fc.constantFrom(null, "text/plain", "application/vnd.api+json; charset=latin1", "application/json; charset=utf-16") }),
  });
}

const fieldCount = (r: Route) => {
  const spec = REST_FIELDS[`${r.method} ${r.path}`] ?? {};
  return (spec.body?.length ?? 0) + (spec.query?.length ?? 0) + r.path.split(":").length - 1;
};

export function restRequestArb(routes: Route[], pools: Pools): fc.Arbitrary<RestRequest> {
  return fc
    .record({
      // Routes that read more fields are drawn more often: they have more to get wrong.
      route: fc.oneof(...routes.map((r) => ({ weight: 1 + fieldCount(r), arbitrary: fc.constant(r) }))),
      otherMethod: rarely(fc.constantFrom(...METHODS), 15),
    })
    .chain(({ route, otherMethod }) => authArb(pools, modesFor(route.path)).map((auth) => ({ route, auth, otherMethod })))
    .chain(({ route, auth, otherMethod }) => {
      const key = `${route.method} ${route.path}`;
      const spec = REST_FIELDS[key] ?? {};
      const app = pools.apps[appOf(auth)];
      const params = route.path.split("/").filter((p) => p.startsWith(":")).map((p) => p.slice(1));
      const method = otherMethod ?? route.method;
      return fc.record({
        params: fc.tuple(...params.map((p) => urlValue(p, app, pools))),
        query: oneBad(Object.fromEntries((spec.query ?? []).map((q) => [q, { good: goodUrlValue(q, app, pools), hostile: hostileUrlPiece }]))),
        extraQuery: rarely(fc.tuple(fc.constantFrom("limit", "x", "%00", "a%ED%A0%80"), hostileUrlPiece), 6),
        headers: fc.tuple(...(spec.headers ?? []).map((h) => fc.option(fieldValue(h, app, pools, "rest", fc.constantFrom("-1", "1e400", "x", "%00")), { freq: 3 }))),
        body: method === "GET" || method === "HEAD" ? fc.constant(undefined) : fc.option(bodyArb(spec.body ?? [], app, pools), { freq: 10 }),
      }).map(({ params: values, query, extraQuery, headers, body }) => {
        let i = 0;
        const path = route.path.replace(/:[a-z_]+/g, () => values[i++]);
        const pairs = Object.entries(query).map(([q, v]) => `${q}=${v}`);
        if (extraQuery) pairs.push(`${extraQuery[0]}=${extraQuery[1]}`);
        const sent: Record<string, string> = { ...authHeaders(auth, pools) };
        (spec.headers ?? []).forEach((h, j) => {
          const v = headers[j];
          if (v !== null && v !== undefined && !(v instanceof RawJson) && typeof v !== "object") sent[h] = String(v).replace(/[^\x20-\xff]/g, "?").slice(0, 4000);
        });
        if (body?.type) sent["content-type"] = body.type;
        return new RestRequest(key, method, `/api${path}${pairs.length ? `?${pairs.join("&")}` : ""}`, sent, body?.text);
      });
    });
}
