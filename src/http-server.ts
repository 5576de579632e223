// One HTTP server: GraphQL (HTTP, SSE, graphql-ws) at /graphql, Dify's Web API under /api, /healthz.
import crypto from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createYoga, type Plugin } from "graphql-yoga";
import { GraphQLError, type DocumentNode } from "graphql";
import { WebSocketServer } from "ws";
import { useServer } from "graphql-ws/use/ws";
import { schema } from "./graphql/index.js";
import {
  carriersFromConnectionParams,
  carriersFromRequest,
  createGraphQLContext,
  type GraphQLContext,
} from "./graphql/context.js";
import { createJsonFastPath } from "./graphql/json-fast-path.js";
import { createGraphQLPolicy } from "./graphql/policy.js";
import { createUploadPlugin } from "./graphql/uploads.js";
import { graphiqlOptions, renderGraphiQL, serveGraphiQLAsset } from "./graphql/graphiql.js";
import { createRestHandler, createRestRouter } from "./rest/index.js";
import { Router } from "./rest/router.js";
import { systemFeatures } from "./rest/dify/system-features.js";
import { writeJson } from "./rest/http.js";
import { serveFilePreview } from "./rest/file-preview.js";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { Services } from "./core/services.js";
import { AppError } from "./core/errors.js";
import { DEFAULT_FILES_CONFIG } from "./core/files/upload.service.js";
import { clientAddress } from "./http/client-address.js";
import { corsHeaders } from "./http/cors.js";
import { isClientAbort } from "./http/client-abort.js";
import { boundConnections, serverOptions } from "./http/connections.js";

type ServerContext = { req: IncomingMessage; res: ServerResponse; requestId: string };

/** `plugins`: more yoga plugins, after the policy's (tests install probes). */
export function createHttpServer(
  services: Services,
  config: Pick<Config, "trustProxy" | "corsAllowOrigins" | "graphql" | "connections"> & Partial<Pick<Config, "files">>,
  log: Logger,
  options: { plugins?: Plugin<any, any, any>[] } = {},
) {
  let draining = false;
  const setCorsHeaders = corsHeaders(config.corsAllowOrigins);
  const clientOf = (req: IncomingMessage) => ({ address: clientAddress(req, config.trustProxy) });
  const limits = config.graphql;
  const policy = createGraphQLPolicy(schema, limits, log);
  const uploadLimits = config.files?.limits ?? DEFAULT_FILES_CONFIG.limits;
  const uploads = createUploadPlugin({ maxFileBytes: Math.max(...Object.values(uploadLimits)), maxFieldBytes: limits.maxBodyBytes });
  const plugins = [uploads, policy.plugin, ...(options.plugins ?? [])];
  const jsonFastPath = createJsonFastPath<ServerContext>(plugins, limits.maxBodyBytes);
  const loggedByMask = new WeakSet<object>();
  const yoga = createYoga<ServerContext, GraphQLContext>({
    schema,
    ...policy.yogaOptions,
    plugins: [...plugins, jsonFastPath.plugin],
    graphqlEndpoint: "/graphql",
    graphiql: graphiqlOptions,
    renderGraphiQL,
    landingPage: false,
    cors: false, // set by setCorsHeaders, alike for both surfaces
    multipart: false,
    logging: {
      debug: (...args) => log.debug({ args }, "yoga"),
      info: (...args) => log.info({ args }, "yoga"),
      warn: (...args) => log.warn({ args }, "yoga"),
      // yoga logs each error it masked; maskError logged it already, with its cause.
      error: (...args) => (args.length === 1 && loggedByMask.has(args[0]) ? undefined : log.error({ args }, "yoga")),
    },
    maskedErrors: {
      // Unexpected errors are logged in full and answered with a bare message; domain errors are typed results.
      maskError(error, message) {
        if (error instanceof GraphQLError && !error.originalError) return error;
        const original = (error as any)?.originalError;
        if (original instanceof AppError) {
          // The client's error, answered with its code: yoga would log it as a masked error.
          if (typeof error === "object" && error) loggedByMask.add(error);
          return new GraphQLError(original.message, { extensions: { code: original.code, status: original.status } });
        }
        log.error({ err: (error as any)?.originalError ?? error }, "unexpected GraphQL error");
        if (typeof error === "object" && error) loggedByMask.add(error);
        return new GraphQLError(message, { extensions: { code: "INTERNAL_SERVER_ERROR" } });
      },
    },
    context: ({ request, requestId, req }) => createGraphQLContext(services, requestId, clientOf(req), carriersFromRequest(request)),
  });

  const api = createRestHandler(services, log, createRestRouter());
  // Dify's web front end reads system features from its console API on every share page.
  const consoleApi = createRestHandler(
    services,
    log,
    new Router().on("GET", "/system-features", async () => ({ status: 200, body: systemFeatures() })),
  );

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    setCorsHeaders(req, res);
    if (path === "/api" || path.startsWith("/api/")) return api(req, res, url, "/api", clientOf(req));
    if (path.startsWith("/console/api/")) return consoleApi(req, res, url, "/console/api", clientOf(req));
    if (path.startsWith("/files/") && (await serveFilePreview(services, req, res, url))) return;
    if (serveGraphiQLAsset(req, res, url, log)) return;
    if (path === "/graphql") {
      if (req.method === "OPTIONS") {
        res.writeHead(204);
        res.end();
        return;
      }
      const requestId = (req.headers["x-request-id"] as string | undefined)?.slice(0, 64) || crypto.randomUUID();
      res.setHeader("X-Request-Id", requestId);
      if (await jsonFastPath.handle(req, res, { req, res, requestId })) return;
      return yoga(req, res, { req, res, requestId });
    }
    if (path === "/healthz") {
      // Draining: a load balancer sends no more here, while the streams still running finish.
      if (draining) return writeJson(res, 503, { status: "draining" });
      return (await services.healthy()) ? writeJson(res, 200, { status: "ok" }) : writeJson(res, 503, { status: "unavailable" });
    }
    if (path === "/" && req.method === "GET") {
      res.writeHead(302, { Location: "/graphql" });
      res.end();
      return;
    }
    writeJson(res, 404, { code: "not_found", message: "The requested URL was not found on the server.", status: 404 });
  };

  const server = createServer(serverOptions(config.connections), (req, res) => {
    // Whatever a handler did not answer itself: a rejection here would otherwise be unhandled.
    handle(req, res).catch((err: unknown) => {
      if (isClientAbort(err, req)) log.debug({ path: req.url, err: (err as Error).message }, "client went away during the request");
      else log.error({ err, method: req.method, path: req.url }, "unexpected error");
      if (res.headersSent || req.destroyed) res.destroy();
      else writeJson(res, 500, { message: "Internal Server Error", code: "unknown", status: 500 });
    });
  });
  const stopSweep = boundConnections(server, config.connections, log);

  const subscriptionsByConnection = new WeakMap<object, Set<string>>();
  const subscriptionsOf = (ctx: object) => {
    let ids = subscriptionsByConnection.get(ctx);
    if (!ids) subscriptionsByConnection.set(ctx, (ids = new Set()));
    return ids;
  };
  // A message over the body cap closes the socket (1009) while it is still arriving.
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint, maxPayload: limits.maxBodyBytes });
  const ws = useServer(
    {
      onComplete: (ctx, id) => void subscriptionsOf(ctx).delete(id),
      onError: (ctx, id) => void subscriptionsOf(ctx).delete(id),
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onSubscribe: async (ctx, id, params) => {
        // One socket holds a bounded number of subscriptions: each costs a task reader and memory.
        const running = subscriptionsOf(ctx);
        if (running.size >= limits.maxWsSubscriptions) {
          return policy.refused([
            new GraphQLError(`A graphql-ws connection may run at most ${limits.maxWsSubscriptions} subscriptions at once.`, {
              extensions: { code: "BAD_REQUEST", limit: "subscriptions", max: limits.maxWsSubscriptions },
            }),
          ]);
        }
        const { schema, execute, subscribe, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        });
        let document: DocumentNode;
        try {
          document = parse(params.query);
        } catch (err) {
          // This subscribe's `error` message; the socket and its other subscriptions go on.
          if (err instanceof GraphQLError) return policy.refused([err]);
          throw err;
        }
        const args = {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: createGraphQLContext(
            services,
            crypto.randomUUID(),
            clientOf(ctx.extra.request),
            carriersFromConnectionParams(ctx.connectionParams as Record<string, unknown> | undefined),
          ),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return policy.refused(errors);
        running.add(id); // until onComplete or onError: a refused subscribe never runs, so never counts
        return args;
      },
    },
    wss,
  );
  // ws reports a message over maxPayload as an error on its socket (and closes it, 1009); graphql-ws
  // would print any socket error to stderr as a fault of ours. This one is the client's.
  wss.on("connection", (socket) => {
    const graphqlWs = socket.listeners("error") as ((err: Error) => void)[];
    socket.removeAllListeners("error");
    socket.on("error", (err: Error & { code?: string }) => {
      if (err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") log.info({ err: err.message }, "graphql-ws message over the body cap");
      else for (const listener of graphqlWs) listener.call(socket, err);
    });
  });

  return {
    server,
    /** Take no new connections (idle keep-alive ones close); the requests and streams in progress go on. */
    stopAccepting() {
      draining = true;
      server.close();
      server.closeIdleConnections();
    },
    async close() {
      stopSweep();
      await ws.dispose();
      wss.close();
      server.closeAllConnections();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
