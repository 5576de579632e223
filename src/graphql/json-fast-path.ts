// graphql-yoga's Node adapter (@whatwg-node/server) costs about as much as the GraphQL work for small
// operations: a streamed request body, an AbortController and close listeners, a TransformStream for
// the body-size limit, a copied server context, per request. Plain `POST application/json` requests
// (nearly all traffic) skip only that adapter: their body is read here, within the same cap, and handed
// to yoga's own request handler (`YogaServer.handle`), so every yoga hook (onRequestParse, onParams,
// onExecutionResult, onResultProcess) and every envelop hook runs as for any other request.
// The adapter's own hooks (onRequest, onResponse) do not: a plugin that has one turns this path off.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Plugin, YogaServer } from "graphql-yoga";

/** A JSON POST with a Content-Length within the cap; the rest (SSE, multipart, chunked, too large) is the adapter's. */
function eligible(req: IncomingMessage, maxBodyBytes: number): boolean {
  if (req.method !== "POST") return false;
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) return false;
  // Streamed answers need the adapter's handling of client disconnects.
  if (/event-stream|multipart/.test(req.headers.accept ?? "")) return false;
  const length = req.headers["content-length"];
  return length !== undefined && /^\d+$/.test(length) && Number(length) <= maxBodyBytes;
}

/** Node ends the body at its Content-Length, which eligible() checked against the cap. */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.once("end", () => resolve(chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8")));
    req.once("error", reject);
  });
}

/**
 * What yoga and its plugins use of a fetch Request, over a body read already. `body` is null: there is
 * no stream left to limit (it was read within the cap); `json()` and `text()` answer from the text.
 */
class BufferedRequest {
  readonly body = null;
  readonly bodyUsed = false;
  readonly signal = undefined;
  constructor(
    readonly url: string,
    readonly method: string,
    readonly headers: Headers,
    private readonly bodyText: string,
  ) {}
  text() {
    return Promise.resolve(this.bodyText);
  }
  json() {
    return new Promise((resolve) => resolve(JSON.parse(this.bodyText)));
  }
}

type AnyPlugin = Plugin<any, any, any>;

/**
 * `plugin` goes into yoga's plugin list (it is handed the YogaServer); `otherPlugins` are the rest of
 * that list, checked for adapter hooks.
 */
export function createJsonFastPath<S extends Record<string, any>>(otherPlugins: AnyPlugin[], maxBodyBytes: number) {
  let server: YogaServer<S, any> | undefined;
  const plugin: AnyPlugin = {
    onYogaInit({ yoga }) {
      server = yoga as YogaServer<S, any>;
    },
  };
  const adapterHooks = otherPlugins.some((p) => p.onRequest || p.onResponse);

  /** Serve the request; false when it is not one for the fast path (nothing was read then). */
  async function handle(req: IncomingMessage, res: ServerResponse, serverContext: S): Promise<boolean> {
    if (!server || adapterHooks || !eligible(req, maxBodyBytes)) return false;
    const headers = new server.fetchAPI.Headers(req.headers as Record<string, string>);
    // yoga reads only the path of the URL.
    const request = new BufferedRequest(`http://localhost${req.url ?? "/graphql"}`, "POST", headers, await readBody(req));
    const response = await server.handle(request as unknown as Request, serverContext as any);
    res.statusCode = response.status;
    response.headers.forEach((value, key) => res.setHeader(key, value));
    // With the head not yet written, Node adds Content-Length and sends head and body in one write.
    res.end(await response.text());
    return true;
  }
  return { plugin, handle, active: () => !!server && !adapterHooks };
}
