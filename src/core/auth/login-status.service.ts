// GET /api/login/status, as Dify's web front end needs it at start-up (behaviour.md 2.2, 5.1).
import type { Db } from "../ports/database.js";
import { invalidParam } from "../errors.js";
import { passportIsValid, type AuthDeps, type PassportCarriers } from "./passport.service.js";

export async function loginStatus(
  db: Db,
  auth: AuthDeps,
  input: { appCode?: string | null; userId?: string | null; carriers: PassportCarriers },
) {
  // appgraph has no web-app login of its own: without an app there is nobody to be logged in as.
  if (!input.appCode) return { logged_in: false, app_logged_in: false };
  const site = await db.site.findUnique({ where: { code: input.appCode }, select: { id: true } });
  if (!site) throw invalidParam(`App with code ${input.appCode} not found`, "app_code");
  return {
    // Every app is public, so the page may always ask for a passport.
    logged_in: true,
    app_logged_in: await passportIsValid(auth, { ...input.carriers, appCode: input.appCode }, input.userId),
  };
}
