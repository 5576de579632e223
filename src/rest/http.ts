// The REST layer's request context and the one place domain errors become Dify's error bodies.
import type { IncomingMessage, ServerResponse } from "node:http";
import { AppError, badRequest } from "../core/errors.js";
import { cookieValue, type PassportCarriers, type Viewer } from "../core/auth/passport.service.js";
import type { Client, Services } from "../core/services.js";

export type RestResult =
  | { status: number; body: unknown }
  /** A body already serialised (cached answers). */
  | { status: number; json: string }
  | { status: 204 }
  /** The handler wrote the response itself (streams). */
  | { written: true };

export type RouteContext = {
  services: Services;
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  params: Record<string, string>;
  query: URLSearchParams;
  header(name: string): string | null;
  /** Who is asking, for per-client limits. */
  client: Client;
  /** The passport bearer, checked as Dify checks it. */
  viewer(): Promise<Viewer>;
  /** The JSON body: 415 without a JSON content type, 400 when it does not parse. */
  json(): Promise<Record<string, unknown>>;
};

export type RouteHandler = (ctx: RouteContext) => Promise<RestResult>;

const MAX_JSON_BYTES = 1024 * 1024;


function headerOf(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

/** The passport carriers of an HTTP request: X-App-Passport, Authorization, cookie passport-<X-App-Code>. */
export function passportCarriers(req: IncomingMessage, appCode = headerOf(req, "x-app-code")): PassportCarriers {
  return {
    appCode,
    passportHeader: headerOf(req, "x-app-passport"),
    authorization: headerOf(req, "authorization"),
    cookie: appCode ? cookieValue(req.headers.cookie, `passport-${appCode}`) : null,
  };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = headerOf(req, "content-type") ?? "";
  if (!/^application\/([\w.+-]*\+)?json\b/i.test(type)) {
    throw new AppError(
      "unsupported_media_type",
      415,
      "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_JSON_BYTES) throw new AppError("request_entity_too_large", 413, "The JSON body is larger than 1 MiB.");
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw badRequest("Invalid JSON payload received or JSON payload is empty.");
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("The JSON payload must be an object.");
  return body as Record<string, unknown>;
}

export function createContext(
  services: Services,
  client: Client,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  params: Record<string, string>,
  requestId: string,
): RouteContext {
  let viewer: Promise<Viewer> | undefined;
  let body: Promise<Record<string, unknown>> | undefined;
  return {
    services,
    client,
    req,
    res,
    requestId,
    params,
    query: url.searchParams,
    header: (name) => headerOf(req, name),
    viewer: () => (viewer ??= services.auth.authenticate(passportCarriers(req))),
    json: () => (body ??= readJson(req)),
  };
}

export function errorBody(err: AppError) {
  const body: Record<string, unknown> = { code: err.code, message: err.message, status: err.status };
  if (err.params !== undefined) body.params = err.params;
  return body;
}

export function writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  writeRawJson(res, status, JSON.stringify(body), headers);
}

export function writeRawJson(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { ...headers, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

export function writeError(res: ServerResponse, err: AppError) {
  const headers: Record<string, string> = err.status === 401 ? { "WWW-Authenticate": 'Bearer realm="api"' } : {};
  writeJson(res, err.status, errorBody(err), headers);
}

