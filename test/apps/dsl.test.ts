// Importing Dify's app DSL: every mode, the real corpus, export round-trips, and errors that name the field.
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { parseDsl } from "../../src/core/apps/dsl.js";
import { deleteApp, exportApp, listApps } from "../../src/core/apps/app.service.js";
import { AppError } from "../../src/core/errors.js";
import { backends, fixture, startTestServer, type TestServer } from "../support/server.js";

const corpus = fs.readdirSync(new URL("../fixtures/dsl-corpus/", import.meta.url)).filter((f) => f.endsWith(".yml")).sort();

const ONE_PER_MODE = {
  chat: "apps/chat-travel-planner.yml",
  completion: "apps/completion-slogan-writer.yml",
  "agent-chat": "dsl-corpus/agent-chat-investment-report-copilot.yml",
  "advanced-chat": "dsl-corpus/advanced-chat-complex-branch-llm.yml",
  workflow: "dsl-corpus/workflow-basic-llm-openai.yml",
};

function dslError(text: string): AppError {
  try {
    parseDsl(text);
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected the DSL to be refused");
}

describe("DSL validation", () => {
  const chat = fixture("apps/chat-travel-planner.yml");
  const workflow = fixture("dsl-corpus/workflow-basic-llm-openai.yml");

  it("refuses what is not YAML, or not a mapping", () => {
    expect(dslError("app: [unclosed").message).toMatch(/^DSL is not valid YAML/);
    expect(dslError("- just\n- a list\n").message).toMatch(/mapping/);
  });

  it("names the missing or wrong field", () => {
    const doc = YAML.parse(chat);
    const broken = (mutate: (d: any) => void) => {
      const d = structuredClone(doc);
      mutate(d);
      return dslError(YAML.stringify(d));
    };
    expect(broken((d) => delete d.app).params).toBe("app");
    expect(broken((d) => delete d.app.name).message).toMatch(/^DSL field app\.name: /);
    const mode = broken((d) => (d.app.mode = "chatbot"));
    expect(mode).toMatchObject({ code: "invalid_param", status: 400, params: "app.mode" });
    expect(broken((d) => delete d.model_config).params).toBe("model_config");
    expect(broken((d) => delete d.model_config.model.name).params).toBe("model_config.model.name");
    expect(broken((d) => (d.model_config.user_input_form[1] = { select: { label: "no variable" } })).params).toBe(
      "model_config.user_input_form[1].select.variable",
    );
    expect(broken((d) => (d.kind = "dataset")).params).toBe("kind");
  });

  it("checks the graph of workflow apps: start node, unique ids, edges between known nodes", () => {
    const doc = YAML.parse(workflow);
    const broken = (mutate: (d: any) => void) => {
      const d = structuredClone(doc);
      mutate(d);
      return dslError(YAML.stringify(d));
    };
    expect(broken((d) => delete d.workflow).params).toBe("workflow");
    const dangling = broken((d) => (d.workflow.graph.edges[0].target = "nowhere"));
    expect(dangling.params).toBe("workflow.graph.edges[0].target");
    expect(dangling.message).toContain("unknown node nowhere");
    expect(broken((d) => d.workflow.graph.nodes.push(structuredClone(d.workflow.graph.nodes[0]))).message).toMatch(/duplicate node id/);
    expect(broken((d) => (d.workflow.graph.nodes = d.workflow.graph.nodes.filter((n: any) => n.data.type !== "start"))).message).toMatch(
      /no start node/,
    );
    expect(broken((d) => delete d.workflow.graph.nodes[1].data.type).params).toBe("workflow.graph.nodes[1].data.type");
  });

  it("warns when a model provider is served by the OpenAI-compatible endpoint", () => {
    expect(parseDsl(fixture("apps/chat-travel-planner.yml")).warnings).toEqual([]);
    const { warnings } = parseDsl(fixture("dsl-corpus/workflow-intent-routing-knowledge-base.yml"));
    expect(warnings.join("\n")).toMatch(/deepseek/);
    expect(warnings.join("\n")).toMatch(/OPENAI_BASE_URL/);
  });
});

describe.each(backends)("app registry on %s", (backend) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(backend);
  });
  afterAll(() => s?.close());

  it.each(Object.entries(ONE_PER_MODE))("imports a %s app with its site, and exports it back", async (mode, file) => {
    const imported = await s.importApp(file);
    expect(imported).toMatchObject({ mode, code: expect.stringMatching(/^[A-Za-z0-9]{16}$/) });
    const app = await s.rt.db.app.findUniqueOrThrow({ where: { id: imported.id }, include: { site: true, workflow: true } });
    expect(app.site?.code).toBe(imported.code);
    const original = YAML.parse(fixture(file));
    if (mode === "workflow" || mode === "advanced-chat") {
      expect(app.workflow).toMatchObject({ type: mode === "workflow" ? "workflow" : "chat" });
      expect(app.modelConfig).toBeNull();
    } else {
      expect(app.workflowId).toBeNull();
    }
    // Round trip: the export carries the same app, and importing it gives the same export again.
    const exported = YAML.parse(await exportApp(s.rt.db, imported.id));
    expect(exported.kind).toBe("app");
    expect(exported.version).toBe(String(original.version));
    expect(exported.app).toMatchObject({ name: original.app.name, mode, icon: original.app.icon });
    expect(exported.dependencies).toEqual(original.dependencies ?? []);
    if (original.workflow) expect(exported.workflow).toEqual(original.workflow);
    else expect(exported.model_config).toEqual(original.model_config);
    const again = await s.importApp(YAML.stringify(exported));
    expect(YAML.parse(await exportApp(s.rt.db, again.id))).toEqual(exported);
  });

  it("imports every file of the DSL corpus", async () => {
    for (const file of corpus) {
      const imported = await s.importApp(`dsl-corpus/${file}`);
      expect(imported.mode, file).toBe(YAML.parse(fixture(`dsl-corpus/${file}`)).app.mode);
    }
  });

  it("gives every app its own share code, and deletes an app with all of it", async () => {
    const a = await s.importApp("apps/chat-travel-planner.yml");
    const b = await s.importApp("apps/chat-travel-planner.yml");
    expect(a.code).not.toBe(b.code);
    const token = await s.passport(a.code);
    await deleteApp(s.rt.db, a.id);
    s.rt.viewers.invalidateApp(a.id);
    expect((await listApps(s.rt.db)).map((x) => x.id)).not.toContain(a.id);
    expect(await s.rt.db.site.count({ where: { appId: a.id } })).toBe(0);
    expect(await s.rt.db.endUser.count({ where: { appId: a.id } })).toBe(0);
    expect((await s.api("/site", { passport: token })).status).toBe(404);
    await expect(deleteApp(s.rt.db, a.id)).rejects.toMatchObject({ code: "not_found" });
    await expect(exportApp(s.rt.db, "not-a-uuid")).rejects.toMatchObject({ code: "not_found" });
  });

  it("deletes a workflow app with its published workflow", async () => {
    const w = await s.importApp(ONE_PER_MODE.workflow);
    await deleteApp(s.rt.db, w.id);
    expect(await s.rt.db.workflow.count({ where: { appId: w.id } })).toBe(0);
  });
});
