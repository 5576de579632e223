// Workflow apps: POST /workflows/run (always streaming, as in Dify), its stop route, and following a run.
import { parseCursor } from "../core/tasks/task-events.js";
import { renderWorkflowEvent } from "./dify/events.js";
import type { Router } from "./router.js";
import { writeSse } from "./sse.js";

export function registerWorkflowRoutes(router: Router) {
  router.on("POST", "/workflows/run", async (ctx) => {
    const viewer = await ctx.viewer();
    const body = await ctx.json();
    const started = await ctx.services.workflows.run(viewer, { inputs: body.inputs, files: body.files });
    await writeSse(ctx.req, ctx.res, started.events, renderWorkflowEvent);
    return { written: true };
  });

  router.on("GET", "/workflow/:run_id/events", async (ctx) => {
    const viewer = await ctx.viewer();
    const events = await ctx.services.workflows.follow(viewer, ctx.params.run_id, {
      after: parseCursor(ctx.query.get("cursor") ?? ctx.header("last-event-id")),
      snapshot: ctx.query.get("include_state_snapshot") === "true",
    });
    await writeSse(ctx.req, ctx.res, events, renderWorkflowEvent);
    return { written: true };
  });

  // Owner-checked, unlike Dify's; the answer is the same either way.
  router.on("POST", "/workflows/tasks/:task_id/stop", async (ctx) => {
    await ctx.services.workflows.stop(await ctx.viewer(), ctx.params.task_id);
    return { status: 200, body: { result: "success" } };
  });
}
