// GET/POST /api/form/human_input/{form_token}: no passport; the token is the credential (behaviour.md 2.7).
import { formJson } from "./dify/forms.js";
import type { Router } from "./router.js";

export function registerHumanInputRoutes(router: Router) {
  router.on("GET", "/form/human_input/:form_token", async (ctx) => ({
    status: 200,
    body: formJson(await ctx.services.workflows.form(ctx.params.form_token, ctx.client)),
  }));

  router.on("POST", "/form/human_input/:form_token", async (ctx) => {
    const body = await ctx.json(); // a malformed body is refused before the limit counts it, as in Dify
    await ctx.services.workflows.submitForm(ctx.params.form_token, { action: body.action, inputs: body.inputs }, ctx.client);
    return { status: 200, body: {} };
  });
}
