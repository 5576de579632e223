// GET/POST /api/form/human_input/{form_token}: no passport; the token is the credential (behaviour.md 2.7).
import type { IncomingMessage } from "node:http";
import { siteInfo } from "../core/apps/app-info.service.js";
import { checkSubmission, markSubmitted, openForm } from "../core/workflows/human-input.service.js";
import { resumeRun } from "../core/workflows/resume-run.service.js";
import { FormRateLimiter } from "../core/workflows/form-rate-limit.js";
import type { Router } from "./router.js";
import { workflowDeps } from "./workflow.routes.js";

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
    const form = await openForm(ctx.rt.db, ctx.params.form_token);
    const def = form.formDefinition as Record<string, any>;
    const { site, ...app } = form.app;
    return {
      status: 200,
      body: {
        form_content: def.form_content,
        inputs: def.inputs,
        resolved_default_values: def.resolved_default_values,
        user_actions: def.user_actions,
        expiration_time: Math.floor(form.expirationTime.getTime() / 1000),
        site: siteInfo({ app, site, endUser: null }),
      },
    };
  });

  router.on("POST", "/form/human_input/:form_token", async (ctx) => {
    const body = await ctx.json(); // validated before the limiter counts, as in Dify
    limiter.check(clientIp(ctx.req), "post");
    const form = await openForm(ctx.rt.db, ctx.params.form_token);
    const { action, inputs } = checkSubmission(form, body);
    await markSubmitted(ctx.rt.db, form.id, action.id, inputs);
    const def = form.formDefinition as Record<string, any>;
    const rendered = String(def.form_content ?? "").replace(/\{\{#\$output\.([a-zA-Z0-9_]+)#\}\}/g, (_m, n: string) => String(inputs[n] ?? ""));
    await resumeRun(workflowDeps(ctx.rt), form.workflowRunId, {
      filled: { nodeId: form.nodeId, nodeTitle: def.node_title ?? form.nodeId, renderedContent: rendered, actionId: action.id, actionText: action.title, inputs },
      timedOut: null,
    });
    return { status: 200, body: {} };
  });
}
