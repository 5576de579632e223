// GET /api/passport and GET /api/login/status.
import { passportCarriers } from "./http.js";
import type { Router } from "./router.js";

export function registerPassportRoutes(router: Router) {
  router.on("GET", "/passport", async (ctx) => {
    const { accessToken } = await ctx.services.auth.passport({ appCode: ctx.header("x-app-code"), userId: ctx.query.get("user_id") });
    return { status: 200, body: { access_token: accessToken } };
  });

  router.on("GET", "/login/status", async (ctx) => {
    const appCode = ctx.query.get("app_code");
    const status = await ctx.services.auth.loginStatus({ appCode, userId: ctx.query.get("user_id"), carriers: passportCarriers(ctx.req, appCode) });
    return { status: 200, body: { logged_in: status.loggedIn, app_logged_in: status.appLoggedIn } };
  });

  // Community builds have no web-app login session to end; Dify answers the same.
  router.on("POST", "/logout", async () => ({ status: 200, body: { result: "success" } }));
}
