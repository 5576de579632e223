// GET /api/login/status, as Dify's web front end needs it at start-up (behaviour.md 2.2, 5.1).
import type { Db } from "../ports/database.js";
import { invalidParam } from "../errors.js";
import { wellFormedText } from "../text.js";
import { passportIsValid, type AuthDeps, type PassportCarriers } from "./passport.service.js";

export type LoginStatus = {
  /** Whether the page may go on to ask for a passport. */
  loggedIn: boolean;
  /** Whether the presented passport passes the full check for this app (and names userId, if given). */
  appLoggedIn: boolean;
};

export async function loginStatus(
  db: Db,
  auth: AuthDeps,
  input: { appCode?: string | null; userId?: string | null; carriers: PassportCarriers },
): Promise<LoginStatus> {
  // appgraph has no web-app login of its own: without an app there is nobody to be logged in as.
  if (!input.appCode) return { loggedIn: false, appLoggedIn: false };
  const site = await db.site.findUnique({ where: { code: wellFormedText(input.appCode, "app_code") }, select: { id: true } });
  if (!site) throw invalidParam(`App with code ${input.appCode} not found`, "app_code");
  return {
    // Every app is public, so the page may always ask for a passport.
    loggedIn: true,
    appLoggedIn: await passportIsValid(auth, { ...input.carriers, appCode: input.appCode }, input.userId),
  };
}
