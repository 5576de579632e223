// Dify's web-app passport (behaviour.md 1.2): an HS256 JWT naming the app, its share code and the end user.
import crypto from "node:crypto";
import type { Db } from "../ports/database.js";
import type { App, EndUser, Site } from "../../generated/prisma/client.js";
import { AppError, badRequest, invalidParam, notFound, unauthorized } from "../errors.js";
import { signJwt, verifyJwt } from "./jwt.js";
import { wellFormedText } from "../text.js";
import type { ViewerCache } from "./viewer-cache.js";
import { loginStatus } from "./login-status.service.js";

export type Viewer = { app: App; site: Site; endUser: EndUser };

/** What checking a passport needs: the signing key and the cached reads. */
export type AuthDeps = { secretKey: string; viewers: ViewerCache };

const PASSPORT_SUBJECT = "Web API Passport";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Where a request may carry its passport; the caller reads these from its own transport. */
export type PassportCarriers = {
  appCode?: string | null;
  /** The `X-App-Passport` header. */
  passportHeader?: string | null;
  /** The `Authorization` header. */
  authorization?: string | null;
  /** The value of the cookie `passport-<appCode>`. */
  cookie?: string | null;
};

/** Dify reads the cookie first, then X-App-Passport; appgraph also takes `Authorization: Bearer`. */
export function pickPassport(c: PassportCarriers): string | null {
  const bearer = c.authorization?.match(/^\s*Bearer\s+(\S+)\s*$/i)?.[1];
  return c.cookie || c.passportHeader || bearer || null;
}

const MAX_USER_ID = 255;

/** GET /api/passport: a passport for an end user of the app shared under `appCode`. */
export async function issuePassport(
  db: Db,
  secretKey: string,
  input: { appCode?: string | null; userId?: string | null },
): Promise<{ accessToken: string; endUser: EndUser; app: App }> {
  if (!input.appCode) throw unauthorized("X-App-Code header is missing.");
  if (input.userId) wellFormedText(input.userId, "user_id");
  // Dify's session_id is a varchar(255); ours is indexed, and an index entry cannot take ~2.7 kB.
  if (input.userId && input.userId.length > MAX_USER_ID) throw invalidParam(`user_id must be at most ${MAX_USER_ID} characters`, "user_id");
  const site = await db.site.findUnique({ where: { code: wellFormedText(input.appCode, "app_code") }, include: { app: true } });
  if (!site || site.status !== "normal" || site.app.status !== "normal" || !site.app.enableSite) throw notFound();
  const app = site.app;
  const endUser = input.userId
    ? ((await db.endUser.findFirst({ where: { appId: app.id, sessionId: input.userId } })) ??
      (await db.endUser.create({ data: { appId: app.id, sessionId: input.userId } })))
    : await db.endUser.create({ data: { appId: app.id, sessionId: crypto.randomUUID() } });
  const accessToken = signJwt(
    { iss: app.id, sub: PASSPORT_SUBJECT, app_id: app.id, app_code: site.code, end_user_id: endUser.id },
    secretKey,
  );
  return { accessToken, endUser, app };
}

const FAILURE_MESSAGES = {
  malformed: "Invalid token.",
  signature: "Invalid token signature.",
  expired: "Token has expired.",
} as const;

/**
 * The full check Dify runs on every protected call: token present and signed by us, app, site and end
 * user resolved from the claims. Beyond Dify: an `X-App-Code` that names another app is refused.
 */
export async function authenticate(auth: AuthDeps, carriers: PassportCarriers): Promise<Viewer> {
  const token = pickPassport(carriers);
  if (!token) throw unauthorized("App token is missing.");
  const verified = verifyJwt(token, auth.secretKey);
  if ("failure" in verified) throw unauthorized(FAILURE_MESSAGES[verified.failure]);
  const { app_id: appId, app_code: appCode, end_user_id: endUserId, sub } = verified.claims;
  if (sub !== PASSPORT_SUBJECT || typeof appId !== "string" || !UUID.test(appId) || typeof endUserId !== "string" || !UUID.test(endUserId)) {
    throw unauthorized("Invalid token.");
  }
  if (typeof appCode !== "string" || !appCode) throw badRequest("Site URL is no longer valid.");
  if (carriers.appCode && carriers.appCode !== appCode) throw unauthorized("The passport belongs to another app.");
  const [app, endUser] = await Promise.all([auth.viewers.app(appId), auth.viewers.endUser(endUserId)]);
  if (!app) throw notFound();
  const { site, ...appRow } = app;
  if (!site || site.code !== appCode) throw badRequest("Site URL is no longer valid.");
  if (!app.enableSite) throw badRequest("Site is disabled.");
  if (!endUser || endUser.appId !== app.id) throw notFound();
  return { app: appRow, site, endUser };
}

/** GET /api/login/status: whether the presented passport passes the full check (and names `userId`, if given). */
export async function passportIsValid(auth: AuthDeps, carriers: PassportCarriers, userId?: string | null) {
  try {
    const viewer = await authenticate(auth, carriers);
    return !userId || viewer.endUser.sessionId === userId;
  } catch (err) {
    if (err instanceof AppError) return false;
    throw err;
  }
}

/** The value of cookie `name` in a Cookie header, or null. */
export function cookieValue(cookieHeader: string | null | undefined, name: string): string | null {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** Passports: issue one for an end user of a shared app, check one, and report the login status. */
export function authService({ db, secretKey, viewers }: { db: Db; secretKey: string; viewers: ViewerCache }) {
  const auth: AuthDeps = { secretKey, viewers };
  return {
    passport: (input: { appCode?: string | null; userId?: string | null }) => issuePassport(db, secretKey, input),
    authenticate: (carriers: PassportCarriers) => authenticate(auth, carriers),
    loginStatus: (input: { appCode?: string | null; userId?: string | null; carriers: PassportCarriers }) => loginStatus(db, auth, input),
  };
}

export type AuthService = ReturnType<typeof authService>;
