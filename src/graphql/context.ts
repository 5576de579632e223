// The GraphQL context, built once per request (HTTP) or per operation (graphql-ws).
import { authenticate, cookieValue, type PassportCarriers, type Viewer } from "../core/auth/passport.service.js";
import { authDeps, type Runtime } from "../runtime.js";

export type GraphQLContext = {
  rt: Runtime;
  requestId: string;
  /** The passport bearer; throws Dify's auth errors. */
  viewer(): Promise<Viewer>;
};

export function createGraphQLContext(rt: Runtime, requestId: string, carriers: PassportCarriers): GraphQLContext {
  let viewer: Promise<Viewer> | undefined;
  return { rt, requestId, viewer: () => (viewer ??= authenticate(authDeps(rt), carriers)) };
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
