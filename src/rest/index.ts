// Dify's end-user Web API under /api: routing and the error envelope, written once.
import crypto from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { AppError } from "../core/errors.js";
import type { Logger } from "pino";
import type { Client, Services } from "../core/services.js";
import { createContext, writeError, writeJson, writeRawJson } from "./http.js";
import { Router } from "./router.js";
import { isClientAbort } from "../http/client-abort.js";
import { registerAppRoutes } from "./app.routes.js";
import { registerPassportRoutes } from "./passport.routes.js";
import { registerGenerationRoutes } from "./generation.routes.js";
import { registerConversationRoutes } from "./conversation.routes.js";
import { registerMessageRoutes } from "./message.routes.js";
import { registerWorkflowRoutes } from "./workflow.routes.js";
import { registerHumanInputRoutes } from "./human-input.routes.js";
import { registerFileRoutes } from "./file.routes.js";
import { registerAudioRoutes } from "./audio.routes.js";

export const VERSION = "0.1.0";

export function createRestRouter(): Router {
  const router = new Router();
  registerPassportRoutes(router);
  registerAppRoutes(router);
  registerGenerationRoutes(router);
  registerConversationRoutes(router);
  registerMessageRoutes(router);
  registerWorkflowRoutes(router);
  registerHumanInputRoutes(router);
  registerFileRoutes(router);
  registerAudioRoutes(router);
  return router;
}

/**
 * Handle a request whose path starts with `prefix` (normally "/api"). CORS headers are the server's:
 * they are alike for both surfaces.
 */
export function createRestHandler(services: Services, log: Logger, router = createRestRouter()) {
  return async function handle(req: IncomingMessage, res: ServerResponse, url: URL, prefix: string, client: Client) {
    const requestId = (req.headers["x-request-id"] as string | undefined)?.slice(0, 64) || crypto.randomUUID();
    const started = performance.now();
    res.setHeader("X-Request-Id", requestId);
    res.setHeader("X-Version", VERSION);
    res.setHeader("X-Env", "PRODUCTION");
    const method = req.method ?? "GET";
    if (method === "OPTIONS") {
      res.writeHead(204);
      res.end();
      return;
    }
    const path = url.pathname.slice(prefix.length) || "/";
    try {
      const match = router.match(method === "HEAD" ? "GET" : method, path);
      if (match.kind === "none") {
        throw new AppError("not_found", 404, "The requested URL was not found on the server.");
      }
      if (match.kind === "wrong-method") {
        res.setHeader("Allow", [...match.allowed, "OPTIONS"].join(", "));
        throw new AppError("method_not_allowed", 405, "The method is not allowed for the requested URL.");
      }
      const result = await match.handler(createContext(services, client, req, res, url, match.params, requestId));
      if ("written" in result) return;
      if ("json" in result) writeRawJson(res, result.status, result.json);
      else if ("body" in result) writeJson(res, result.status, result.body);
      else {
        res.writeHead(204);
        res.end();
      }
    } catch (err) {
      if (isClientAbort(err, req)) {
        log.debug({ requestId, method, path: url.pathname, err: (err as Error).message }, "client went away during the request");
        res.destroy();
      } else if (res.headersSent) {
        log.error({ err, requestId }, "error after the response started");
        res.destroy();
      } else if (err instanceof AppError) {
        writeError(res, err);
      } else {
        log.error({ err, requestId, method, path: url.pathname }, "unexpected error");
        writeJson(res, 500, { message: "Internal Server Error", code: "unknown", status: 500 });
      }
    } finally {
      log.debug(
        { requestId, method, path: url.pathname, status: res.statusCode, ms: +(performance.now() - started).toFixed(2) },
        "request",
      );
    }
  };
}
