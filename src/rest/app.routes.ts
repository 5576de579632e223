// App information: site, parameters, meta, system features, access mode (behaviour.md 2.1).
import { appMeta, appParameters, siteInfo } from "../core/apps/app-info.service.js";
import { invalidParam } from "../core/errors.js";
import { accessMode, systemFeatures } from "../core/system/system-features.js";
import type { Router } from "./router.js";

export function registerAppRoutes(router: Router) {
  router.on("GET", "/site", async (ctx) => ({ status: 200, body: siteInfo(await ctx.viewer()) }));

  router.on("GET", "/parameters", async (ctx) => {
    const { app } = await ctx.viewer();
    // Every page load asks for it: serve the serialised answer from the app cache.
    const json = await ctx.rt.viewers.memo(app.id, "parameters.json", async () => JSON.stringify(await appParameters(ctx.rt.db, app)));
    return { status: 200, json };
  });

  router.on("GET", "/meta", async (ctx) => {
    const { app } = await ctx.viewer();
    return { status: 200, body: await ctx.rt.viewers.memo(app.id, "meta", () => appMeta(ctx.rt.db, app)) };
  });

  router.on("GET", "/system-features", async () => ({ status: 200, body: systemFeatures() }));

  router.on("GET", "/webapp/access-mode", async () => ({ status: 200, body: accessMode() }));

  router.on("GET", "/webapp/permission", async (ctx) => {
    if (!ctx.query.get("appId")) throw invalidParam("appId must be provided", "appId");
    return { status: 200, body: { result: true } };
  });
}
