// http-request: Dify's request node (method, URL, headers and params as "key:value" lines, the body
// kinds, API-key auth), sent through the SSRF-safe client: private addresses only when configured.
import type { NodeExecutor } from "../engine.js";
import { NodeFailure } from "../engine.js";
import type { VariablePool } from "../variable-pool.js";
import { AppError } from "../../errors.js";
import type { OutboundFetch } from "../../ports/outbound-fetch.js";

/** "key:value" lines (Dify's headers/params text), each side rendered. */
function pairs(pool: VariablePool, text: unknown): [string, string][] {
  return String(text ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const at = line.indexOf(":");
      return (at < 0 ? [line, ""] : [line.slice(0, at), line.slice(at + 1)]).map((s) => pool.render(s.trim())) as [string, string];
    });
}

type BodyItem = { key?: string; type?: string; value?: string; file?: string[] };

function body(pool: VariablePool, spec: { type?: string; data?: unknown } | undefined): { content?: string; type?: string } {
  const kind = spec?.type ?? "none";
  const items = (Array.isArray(spec?.data) ? spec!.data : []) as BodyItem[];
  const raw = typeof spec?.data === "string" ? spec.data : (items[0]?.value ?? "");
  switch (kind) {
    case "none":
      return {};
    case "json":
      return { content: pool.render(raw), type: "application/json" };
    case "raw-text":
      return { content: pool.render(raw), type: "text/plain" };
    case "x-www-form-urlencoded":
    case "form-data": {
      // Files in form-data need file storage, which comes later; text fields are sent url-encoded.
      if (items.some((i) => i.type === "file")) throw new NodeFailure("File fields in request bodies are not supported yet.", "UnsupportedBody");
      const form = new URLSearchParams(items.filter((i) => i.key).map((i) => [pool.render(i.key!), pool.render(i.value ?? "")]));
      return { content: form.toString(), type: "application/x-www-form-urlencoded" };
    }
    default:
      throw new NodeFailure(`Unsupported body type ${JSON.stringify(kind)}.`, "UnsupportedBody");
  }
}

export function httpRequest(fetch: OutboundFetch): NodeExecutor {
  return async ({ node, pool, signal }) => {
    const d = node.data;
    const method = String(d.method ?? "get").toUpperCase();
    const url = new URL(pool.render(String(d.url ?? "")).trim() || "invalid:");
    for (const [k, v] of pairs(pool, d.params)) url.searchParams.append(k, v);
    const headers: Record<string, string> = Object.fromEntries(pairs(pool, d.headers));
    const auth = d.authorization;
    if (auth?.type === "api-key" && auth.config) {
      const key = pool.render(String(auth.config.api_key ?? ""));
      if (auth.config.type === "bearer") headers.Authorization = `Bearer ${key}`;
      else if (auth.config.type === "basic") headers.Authorization = `Basic ${key}`;
      else headers[String(auth.config.header || "Authorization")] = key;
    }
    const { content, type } = body(pool, d.body);
    if (type && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) headers["Content-Type"] = type;
    const timeoutS = Math.max(Number(d.timeout?.read ?? d.timeout?.max_read_timeout ?? 0), 0) + Math.max(Number(d.timeout?.connect ?? d.timeout?.max_connect_timeout ?? 0), 0);
    try {
      const res = await fetch(url.toString(), { method, headers, body: content, signal }, timeoutS > 0 ? { timeoutMs: timeoutS * 1000 } : {});
      const text = res.body.toString("utf8");
      return {
        inputs: { method, url: url.toString() },
        processData: { request: `${method} ${url}` },
        outputs: { status_code: res.status, body: text, headers: res.headers, files: [] },
      };
    } catch (err) {
      if (err instanceof AppError) throw new NodeFailure(err.message, err.code);
      throw err;
    }
  };
}

