// GET /api/passport and GET /api/login/status.
import { issuePassport } from "../core/auth/passport.service.js";
import { loginStatus } from "../core/auth/login-status.service.js";
import { passportCarriers } from "./http.js";
import { authDeps } from "../runtime.js";
import type { Router } from "./router.js";

export function registerPassportRoutes(router: Router) {
  router.on("GET", "/passport", async (ctx) => {
    const { accessToken } = await issuePassport(ctx.rt.db, ctx.rt.config.secretKey, {
      appCode: ctx.header("x-app-code"),
      userId: ctx.query.get("user_id"),
    });
    return { status: 200, body: { access_token: accessToken } };
  });

  router.on("GET", "/login/status", async (ctx) => {
    const appCode = ctx.query.get("app_code");
    const body = await loginStatus(ctx.rt.db, authDeps(ctx.rt), {
      appCode,
      userId: ctx.query.get("user_id"),
      carriers: passportCarriers(ctx.req, appCode),
    });
    return { status: 200, body };
  });

  // Community builds have no web-app login session to end; Dify answers the same.
  router.on("POST", "/logout", async () => ({ status: 200, body: { result: "success" } }));
}
