// GraphQL clients for tests, over the three transports the server speaks:
//
//   const body = await gql(s, `{ currentApp { … } }`, {}, { token });          // JSON POST
//   const events = await gqlSse(s, `subscription { … }`, { id }, { token });   // yoga's SSE, read to its end
//   for await (const e of gqlSseEvents(s, `subscription { … }`, { id }, { token })) …   // or as they arrive
//   const client = gqlWs(s, { token });                                         // graphql-ws
//   const events = await wsEvents(client, `subscription { … }`, { id }, { until: (e, all) => all.length === 2 });
import type { FormattedExecutionResult } from "graphql";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { sseEvents } from "./sse.js";

/** Anything serving /graphql: a TestServer, or the `running` server it wraps. */
export type GraphQLServer = { url: string };

/** A passport sent as `Authorization: Bearer`, any other headers, and which operation of the document to run. */
export type GqlOptions = { token?: string | null; headers?: Record<string, string>; operationName?: string };

/** One value of a subscription's root field: a member of the event union, with the fields asked for. */
export type GqlEvent = { __typename: string } & Record<string, any>;

export type GqlResult<TData = any> = FormattedExecutionResult<TData>;

function headersOf(opts: GqlOptions, accept?: string): Record<string, string> {
  return {
    "content-type": "application/json",
    ...(accept ? { accept } : {}),
    ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    ...opts.headers,
  };
}

/** A query or mutation as a plain JSON POST; the response body. */
export async function gql<TData = any>(server: GraphQLServer, query: string, variables: Record<string, unknown> = {}, opts: GqlOptions = {}): Promise<GqlResult<TData>> {
  const res = await fetch(`${server.url}/graphql`, { method: "POST", headers: headersOf(opts), body: JSON.stringify({ query, variables, operationName: opts.operationName }) });
  return (await res.json()) as GqlResult<TData>;
}

/**
 * A subscription over yoga's SSE transport (POST with Accept: text/event-stream): the root field of
 * every `next` frame, as it arrives. Leaving the loop early closes the connection. A frame with
 * errors throws: subscriptions here answer failures as typed events, so a GraphQL error is a broken test.
 */
export async function* gqlSseEvents(server: GraphQLServer, query: string, variables: Record<string, unknown> = {}, opts: GqlOptions = {}): AsyncGenerator<GqlEvent> {
  const res = await fetch(`${server.url}/graphql`, { method: "POST", headers: headersOf(opts, "text/event-stream"), body: JSON.stringify({ query, variables, operationName: opts.operationName }) });
  const type = res.headers.get("content-type") ?? "";
  if (!type.startsWith("text/event-stream")) throw new Error(`gqlSse: expected an event stream, got ${res.status} ${type}: ${await res.text()}`);
  // Yoga's frames are `event: next` + one `data:` line each, read as Dify's SSE is.
  for await (const frame of sseEvents(res) as AsyncGenerator<GqlResult<Record<string, GqlEvent>>>) {
    if (frame.errors) throw new Error(`gqlSse: ${JSON.stringify(frame.errors)}`);
    if (frame.data) yield* Object.values(frame.data);
  }
}

/** A subscription over SSE, read to its end: every event (see gqlSseEvents). */
export async function gqlSse(server: GraphQLServer, query: string, variables: Record<string, unknown> = {}, opts: GqlOptions = {}): Promise<GqlEvent[]> {
  const events: GqlEvent[] = [];
  for await (const event of gqlSseEvents(server, query, variables, opts)) events.push(event);
  return events;
}

/** A graphql-ws client that does not retry; `token` goes into connectionParams as Authorization. Dispose of it. */
export function gqlWs(server: GraphQLServer, opts: { token?: string; connectionParams?: Record<string, unknown> } = {}): Client {
  const connectionParams = opts.connectionParams ?? (opts.token ? { authorization: `Bearer ${opts.token}` } : {});
  return createClient({ url: server.url.replace(/^http/, "ws") + "/graphql", webSocketImpl: WebSocket, connectionParams, retryAttempts: 0 });
}

/**
 * Run an operation over `client` and collect the root field of every result (a query or mutation has
 * one) until it ends, or until `until` answers true (it may await; the next event waits for it).
 * Rejects on GraphQL errors.
 */
export async function wsEvents(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
  opts: { operationName?: string; until?: (event: GqlEvent, all: GqlEvent[]) => boolean | void | Promise<boolean | void> } = {},
): Promise<GqlEvent[]> {
  const events: GqlEvent[] = [];
  for await (const result of client.iterate<Record<string, GqlEvent>>({ query, variables, operationName: opts.operationName })) {
    if (result.errors) throw new Error(`wsEvents: ${JSON.stringify(result.errors)}`);
    const event = Object.values(result.data ?? {})[0];
    events.push(event);
    if (await opts.until?.(event, events)) break;
  }
  return events;
}
