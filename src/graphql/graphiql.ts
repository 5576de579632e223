// GraphiQL served by appgraph itself. graphql-yoga's own page loads its script, stylesheet and editor
// workers from unpkg, which offline machines cannot reach and a strict CSP forbids. The same build, as
// @graphql-yoga/render-graphiql ships it (pinned to our graphql-yoga's version), is served from
// /graphiql/ instead, and the page runs no inline script.
import crypto from "node:crypto";
import { promisify } from "node:util";
import zlib from "node:zlib";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { GraphiQLOptions } from "graphql-yoga";
import type { Logger } from "pino";

export const GRAPHIQL_ASSETS = "/graphiql/";

const DEFAULT_QUERY = `# appgraph: examples of its end-user API.
# Run one: put the cursor in it, press Ctrl-Enter
# (or pick it from the ▶ button's menu).
#
# 1. Put your app's share code in GetPassport
#    (npm start prints it) and run it.
# 2. Paste its accessToken in Headers below:
#    {"Authorization": "Bearer <accessToken>"}
#    or {"X-App-Passport": "<accessToken>"}.
#    Subscriptions (graphql-ws) send the same
#    headers as their connectionParams.
# 3. Run CurrentApp, then Chat.

mutation GetPassport {
  passport(appCode: "YOUR_APP_CODE") {
    ... on Passport { accessToken }
    ... on AppError { code message }
  }
}

query CurrentApp {
  currentApp {
    ... on App {
      name
      mode
      parameters { openingStatement userInputForm { variable label required } }
    }
    ... on AppError { code message }
  }
}

subscription Chat {
  chatMessage(input: { query: "Hello" }) {
    __typename
    ... on MessageDelta { answer }
    ... on MessageEnd { message { id conversationId } }
    ... on AppError { code status }
  }
}
`;

export const graphiqlOptions = {
  title: "appgraph",
  subscriptionsProtocol: "WS",
  defaultQuery: DEFAULT_QUERY,
  defaultHeaders: JSON.stringify({ Authorization: "Bearer <accessToken from GetPassport>" }, null, 2),
  defaultEditorToolsVisibility: "headers",
} satisfies GraphiQLOptions;

// Runs in the browser after the GraphiQL bundle. Settings come from a JSON block in the page.
const START_SCRIPT = `(function () {
  "use strict";
  var settings = JSON.parse(document.getElementById("graphiql-settings").textContent);
  self.MonacoEnvironment = {
    globalAPI: false,
    getWorkerUrl: function (_moduleId, label) { return settings.workers[label]; },
  };
  // A browser cannot set headers on a WebSocket: graphql-ws gets the header editor's JSON as its
  // connectionParams, keys lower-cased as the server reads them. The editor starts with the headers
  // GraphiQL stored (its localStorage key "graphiql:headers"), else the default.
  var headers = settings.options.defaultHeaders || "{}";
  try {
    var stored = localStorage.getItem("graphiql:headers");
    if (stored && stored !== "null" && stored !== "undefined") headers = stored;
  } catch (e) {}
  function connectionParams() {
    var params = {};
    try {
      var parsed = JSON.parse(headers);
      for (var key in parsed) params[key.toLowerCase()] = parsed[key];
    } catch (e) {}
    return params;
  }
  var options = Object.assign({}, settings.options, {
    // The default query as the initial one too, as yoga does with its own: else GraphiQL reopens on
    // an empty extra tab once headers, but not the query, were edited.
    query: settings.options.defaultQuery,
    connectionParams: connectionParams,
    onEditHeaders: function (value) { headers = value; },
  });
  YogaGraphiQL.renderYogaGraphiQL(document.getElementById("root"), options);
})();
`;

// Fonts and images are data: URLs inside the stylesheet; Monaco and React insert style elements.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
].join("; ");

type Asset = { body: Buffer; type: string; hash: string; gzipped?: Promise<Buffer> };
type Assets = Map<string, Asset>;

const JS = "text/javascript; charset=utf-8";
// The file names the page uses, known before the bundle is loaded (so unknown paths fall through at once).
const NAMES = ["graphiql.js", "graphiql.css", "start.js", "editor.worker.js", "json.worker.js", "graphql.worker.js", "favicon.ico"];

let assets: Promise<Assets> | undefined;

/** The bundle is 9 MB of strings: loaded on the first GraphiQL request, not at every start. */
function loadAssets(): Promise<Assets> {
  return (assets ??= import("@graphql-yoga/render-graphiql/graphiql").then((b) => {
    const entries: [string, string | Buffer, string][] = [
      ["graphiql.js", b.js, JS],
      ["graphiql.css", b.css, "text/css; charset=utf-8"],
      ["start.js", START_SCRIPT, JS],
      ["editor.worker.js", b.editorWorkerService, JS],
      ["json.worker.js", b.jsonWorker, JS],
      ["graphql.worker.js", b.graphqlWorker, JS],
      ["favicon.ico", Buffer.from(b.favicon.slice(b.favicon.indexOf(",") + 1), "base64"), "image/x-icon"],
    ];
    return new Map(
      entries.map(([name, content, type]) => {
        const body = Buffer.from(content);
        return [name, { body, type, hash: crypto.createHash("sha256").update(body).digest("base64url").slice(0, 16) }];
      }),
    );
  }));
}

/** An asset's URL carries its content hash, so browsers may keep it for good. */
function assetUrl(all: Assets, name: string): string {
  return `${GRAPHIQL_ASSETS}${name}?v=${all.get(name)!.hash}`;
}

/** Embeds JSON in a script element: "<" escaped so no string can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** graphql-yoga's `renderGraphiQL`: the page, referencing only /graphiql/ assets. */
export async function renderGraphiQL(options: GraphiQLOptions): Promise<string> {
  const all = await loadAssets();
  const workers = {
    editorWorkerService: assetUrl(all, "editor.worker.js"),
    json: assetUrl(all, "json.worker.js"),
    graphql: assetUrl(all, "graphql.worker.js"),
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title ?? "GraphiQL")}</title>
<link rel="icon" href="${assetUrl(all, "favicon.ico")}">
<link rel="stylesheet" href="${assetUrl(all, "graphiql.css")}">
</head>
<body id="body" class="no-focus-outline">
<noscript>GraphiQL needs JavaScript.</noscript>
<div id="root"></div>
<script type="application/json" id="graphiql-settings">${scriptJson({ options, workers })}</script>
<script src="${assetUrl(all, "graphiql.js")}"></script>
<script src="${assetUrl(all, "start.js")}"></script>
</body>
</html>
`;
}

const gzip = promisify(zlib.gzip);

async function sendAsset(req: IncomingMessage, res: ServerResponse, name: string, version: string | null): Promise<void> {
  const asset = (await loadAssets()).get(name)!;
  const gzipped = /\bgzip\b/.test(req.headers["accept-encoding"] ?? "");
  // One strong ETag per encoding: the two bodies differ byte for byte.
  const etag = `"${asset.hash}${gzipped ? "-gzip" : ""}"`;
  res.setHeader("Content-Type", asset.type);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("ETag", etag);
  res.setHeader("Vary", "Accept-Encoding");
  // Only the URL of this very content is immutable; any other version is revalidated.
  res.setHeader("Cache-Control", version === asset.hash ? "public, max-age=31536000, immutable" : "no-cache");
  if ((req.headers["if-none-match"] ?? "").split(/\s*,\s*/).includes(etag)) {
    res.writeHead(304);
    res.end();
    return;
  }
  let body = asset.body;
  if (gzipped) {
    body = await (asset.gzipped ??= gzip(asset.body));
    res.setHeader("Content-Encoding", "gzip");
  }
  res.setHeader("Content-Length", body.length);
  res.writeHead(200);
  res.end(req.method === "HEAD" ? undefined : body);
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ code, message, status }));
}

/** Serves /graphiql/<asset>; answers false (writes nothing) for any other path. */
export function serveGraphiQLAsset(req: IncomingMessage, res: ServerResponse, url: URL, log: Logger): boolean {
  const name = url.pathname.slice(GRAPHIQL_ASSETS.length);
  if (!url.pathname.startsWith(GRAPHIQL_ASSETS) || !NAMES.includes(name)) return false;
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    sendError(res, 405, "method_not_allowed", "The method is not allowed for the requested URL.");
    return true;
  }
  sendAsset(req, res, name, url.searchParams.get("v")).catch((err) => {
    log.error({ err }, "GraphiQL asset failed");
    if (!res.headersSent) sendError(res, 500, "internal_server_error", "GraphiQL's assets could not be loaded.");
    else res.destroy(err);
  });
  return true;
}
