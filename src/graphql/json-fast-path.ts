// graphql-yoga's Fetch-API adapter costs more than the GraphQL work for small operations: a Request,
// an AbortSignal, a Response and body streams per request. Plain `POST application/json` queries and
// mutations (nearly all traffic) run here on yoga's own envelop pipeline (the same plugins: parser and
// validation cache, error masking, context); anything else, and anything unusual, goes to yoga as is.
import type { IncomingMessage, ServerResponse } from "node:http";
import { getOperationAST, type DocumentNode, type GraphQLError } from "graphql";
import type { YogaServerInstance } from "graphql-yoga";

const MAX_BODY = 1024 * 1024;

type Params = { query: string; variables?: Record<string, unknown> | null; operationName?: string | null; extensions?: unknown };

function eligible(req: IncomingMessage): boolean {
  if (req.method !== "POST") return false;
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) return false;
  const accept = req.headers.accept;
  return !accept || accept === "*/*" || (accept.includes("application/json") && !/event-stream|multipart|graphql-response/.test(accept));
}

async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function paramsOf(text: string): Params | null {
  try {
    const body = JSON.parse(text);
    if (!body || typeof body !== "object" || Array.isArray(body) || typeof body.query !== "string") return null;
    if (body.variables != null && (typeof body.variables !== "object" || Array.isArray(body.variables))) return null;
    return body;
  } catch {
    return null;
  }
}

/** Yoga keeps HTTP hints in error extensions; they are not part of the response. */
function serialise(result: { data?: unknown; errors?: readonly GraphQLError[]; extensions?: unknown }): string {
  const out: Record<string, unknown> = {};
  if (result.errors?.length) {
    out.errors = result.errors.map((e) => {
      const json = e.toJSON() as { extensions?: Record<string, unknown> };
      if (json.extensions && "http" in json.extensions) {
        const { http: _http, ...rest } = json.extensions;
        json.extensions = Object.keys(rest).length ? rest : undefined;
      }
      return json;
    });
  }
  if (result.data !== undefined) out.data = result.data;
  if (result.extensions !== undefined) out.extensions = result.extensions;
  return JSON.stringify(out);
}

export function createJsonFastPath<S extends object>(yoga: YogaServerInstance<S, any>) {
  /** Hand an already-read request to yoga and copy its answer back. */
  async function delegate(req: IncomingMessage, res: ServerResponse, body: string | null, serverContext: S) {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    const response = await yoga.fetch(`http://localhost${req.url ?? "/graphql"}`, { method: "POST", headers, body: body ?? "" }, serverContext);
    res.statusCode = response.status;
    response.headers.forEach((value, key) => res.setHeader(key, value));
    res.end(Buffer.from(await response.arrayBuffer()));
  }

  /** Serve the request; false when it is not one for the fast path (nothing was read then). */
  return async function handle(req: IncomingMessage, res: ServerResponse, serverContext: S): Promise<boolean> {
    if (!eligible(req)) return false;
    const text = await readBody(req);
    const params = text === null ? null : paramsOf(text);
    if (!params) {
      await delegate(req, res, text, serverContext);
      return true;
    }
    // Only what our context factory and yoga's plugins read of a request: its headers.
    const request = { method: "POST", url: req.url, headers: { get: (name: string) => (req.headers[name.toLowerCase()] as string | undefined) ?? null } };
    const { parse, validate, contextFactory, execute, schema } = yoga.getEnveloped({ ...serverContext, request, params } as any);
    let document: DocumentNode;
    try {
      document = parse(params.query);
    } catch {
      await delegate(req, res, text, serverContext); // yoga words syntax errors and picks the status
      return true;
    }
    const operation = getOperationAST(document, params.operationName ?? undefined);
    if (!operation || operation.operation === "subscription" || validate(schema, document).length) {
      await delegate(req, res, text, serverContext);
      return true;
    }
    const result = await execute({
      schema,
      document,
      rootValue: {},
      contextValue: await contextFactory(),
      variableValues: params.variables ?? undefined,
      operationName: params.operationName ?? undefined,
    });
    // Incremental delivery is not enabled, so a query or mutation has one result; never run one twice.
    const json = Symbol.asyncIterator in (result as object)
      ? JSON.stringify({ errors: [{ message: "Incremental delivery needs Accept: multipart/mixed or text/event-stream." }] })
      : serialise(result as any);
    res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(json) });
    res.end(json);
    return true;
  };
}
