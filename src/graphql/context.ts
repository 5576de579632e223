// The GraphQL context, built once per request (HTTP) or per operation (graphql-ws).
import { cookieValue, type PassportCarriers, type Viewer } from "../core/auth/passport.service.js";
import DataLoader from "dataloader";
import type { Client, Services } from "../core/services.js";
import type { MessageRecord } from "../core/messages/message.service.js";
import type { Page } from "../core/pages.js";
import { loadFirstMessagePages } from "./conversation.schema.js";

export type GraphQLContext = {
  services: Services;
  requestId: string;
  /** Who is asking, for per-client limits. */
  client: Client;
  /** The passport bearer; throws Dify's auth errors. */
  viewer(): Promise<Viewer>;
  /** Batches of this request's nested reads, so lists under lists cost a query per level, not per item. */
  loaders: { firstMessagePages: DataLoader<string, Page<MessageRecord>> };
};

export function createGraphQLContext(services: Services, requestId: string, client: Client, carriers: PassportCarriers): GraphQLContext {
  let viewer: Promise<Viewer> | undefined;
  const ctx: GraphQLContext = {
    services,
    requestId,
    client,
    viewer: () => (viewer ??= services.auth.authenticate(carriers)),
    loaders: { firstMessagePages: new DataLoader<string, Page<MessageRecord>>((keys) => loadFirstMessagePages(ctx, keys)) },
  };
  return ctx;
}

/** Carriers from a fetch Request: the same headers and cookie as the REST surface. */
export function carriersFromRequest(request: Request): PassportCarriers {
  const appCode = request.headers.get("x-app-code");
  return {
    appCode,
    passportHeader: request.headers.get("x-app-passport"),
    authorization: request.headers.get("authorization"),
    cookie: appCode ? cookieValue(request.headers.get("cookie"), `passport-${appCode}`) : null,
  };
}

/** Carriers from graphql-ws `connectionParams`: `{ authorization, "x-app-passport", "x-app-code" }`. */
export function carriersFromConnectionParams(params: Record<string, unknown> | undefined): PassportCarriers {
  const str = (k: string) => {
    const v = params?.[k] ?? params?.[k.toLowerCase()];
    return typeof v === "string" ? v : null;
  };
  return { appCode: str("x-app-code"), passportHeader: str("x-app-passport"), authorization: str("authorization") };
}
