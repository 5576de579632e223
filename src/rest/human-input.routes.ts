// GET/POST /api/form/human_input/{form_token}: no passport; the token is the credential (behaviour.md 2.7).
import type { IncomingMessage } from "node:http";
import { formView } from "../core/workflows/human-input.service.js";
import { submitHumanInput } from "../core/workflows/resume-run.service.js";
import { FormRateLimiter } from "../core/workflows/form-rate-limit.js";
import type { Router } from "./router.js";

/** CF-Connecting-IP, then the first X-Forwarded-For, then the peer, as Dify picks it. */
function clientIp(req: IncomingMessage): string {
  const cf = req.headers["cf-connecting-ip"];
  if (typeof cf === "string" && cf) return cf.trim();
  const forwarded = req.headers["x-forwarded-for"];
  if (typeof forwarded === "string" && forwarded) return forwarded.split(",")[0].trim();
  return req.socket.remoteAddress ?? "unknown";
}

export function registerHumanInputRoutes(router: Router) {
  const limiter = new FormRateLimiter();

  router.on("GET", "/form/human_input/:form_token", async (ctx) => {
    limiter.check(clientIp(ctx.req), "get");
    return { status: 200, body: await formView(ctx.rt.db, ctx.params.form_token) };
  });

  router.on("POST", "/form/human_input/:form_token", async (ctx) => {
    const body = await ctx.json(); // validated before the limiter counts, as in Dify
    limiter.check(clientIp(ctx.req), "post");
    await submitHumanInput(ctx.rt, ctx.params.form_token, body);
    return { status: 200, body: {} };
  });
}
