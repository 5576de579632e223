// CORS for both surfaces. Dify's web client calls cross-origin with credentials, so the Origin is echoed
// rather than `*`; with CORS_ALLOW_ORIGINS set (Dify's WEB_API_CORS_ALLOW_ORIGINS) only listed ones are.
import type { IncomingMessage, ServerResponse } from "node:http";

const CORS_HEADERS = {
  "Access-Control-Allow-Credentials": "true",
  "Access-Control-Allow-Headers": "Content-Type, X-App-Code, X-App-Passport, Authorization, X-CSRF-Token",
  "Access-Control-Allow-Methods": "GET, PUT, POST, DELETE, OPTIONS, PATCH",
  "Access-Control-Expose-Headers": "X-Version, X-Env, X-Trace-Id",
  "Access-Control-Max-Age": "600",
};

export function corsHeaders(allowOrigins: string[]) {
  const anyOrigin = allowOrigins.length === 0 || allowOrigins.includes("*");
  const allowed = new Set(allowOrigins);
  return function setCorsHeaders(req: IncomingMessage, res: ServerResponse) {
    const origin = req.headers.origin;
    if (!origin) return;
    res.setHeader("Vary", "Origin");
    if (!anyOrigin && !allowed.has(origin)) return;
    res.setHeader("Access-Control-Allow-Origin", origin);
    for (const [k, v] of Object.entries(CORS_HEADERS)) res.setHeader(k, v);
  };
}
