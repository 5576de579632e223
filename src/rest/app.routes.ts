// App information: site, parameters, meta, system features, access mode (behaviour.md 2.1).
import type { AppParameters } from "../core/apps/app-info.service.js";
import { invalidParam } from "../core/errors.js";
import { metaJson, parametersJson, siteJson } from "./dify/app-info.js";
import { accessMode, systemFeatures } from "./dify/system-features.js";
import type { Router } from "./router.js";

// Every page load asks for the parameters: the core hands out one record per app until the app
// changes, so its serialisation is kept beside it.
const parametersText = new WeakMap<AppParameters, string>();

export function registerAppRoutes(router: Router) {
  router.on("GET", "/site", async (ctx) => {
    const viewer = await ctx.viewer();
    const { app, site } = ctx.services.apps.site(viewer);
    return { status: 200, body: siteJson(app, site, viewer.endUser.id) };
  });

  router.on("GET", "/parameters", async (ctx) => {
    const parameters = await ctx.services.apps.parameters(await ctx.viewer());
    let json = parametersText.get(parameters);
    if (json === undefined) parametersText.set(parameters, (json = JSON.stringify(parametersJson(parameters))));
    return { status: 200, json };
  });

  router.on("GET", "/meta", async (ctx) => ({ status: 200, body: metaJson(await ctx.services.apps.toolIcons(await ctx.viewer())) }));

  router.on("GET", "/system-features", async () => ({ status: 200, body: systemFeatures() }));

  router.on("GET", "/webapp/access-mode", async () => ({ status: 200, body: accessMode() }));

  router.on("GET", "/webapp/permission", async (ctx) => {
    if (!ctx.query.get("appId")) throw invalidParam("appId must be provided", "appId");
    return { status: 200, body: { result: true } };
  });
}
