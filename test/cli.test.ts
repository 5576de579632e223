// The `appgraph` command, run as users run it: a child process on the built dist/.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { createTestDatabase, fixture } from "./support/server.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = path.join(root, "dist/cli.js");
const fixturePath = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

// The suite's own DATABASE_URL must not leak into a child that is meant to use DATA_DIR.
const { DATABASE_URL: _url, REDIS_URL: _redis, SECRET_KEY: _key, ...baseEnv } = process.env;

function appgraph(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { env: { ...baseEnv, LOG_LEVEL: "silent", ...env }, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, last: r.stdout.trim().split("\n").at(-1) ?? "" };
}

type Target = { name: string; env: Record<string, string>; cleanup(): Promise<void> };

const targets: (() => Promise<Target>)[] = [
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-cli-"));
    return { name: "DATA_DIR", env: { DATA_DIR: dir }, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  },
];
if (process.env.DATABASE_URL) {
  targets.push(async () => {
    const db = await createTestDatabase();
    return { name: "DATABASE_URL", env: { DATABASE_URL: db.url, SECRET_KEY: "cli-test-secret-0123456789" }, cleanup: db.drop };
  });
}

// Each test runs the CLI as several fresh processes, each opening the database: seconds apiece, more on
// a loaded 2-core machine, so these get more than the default 30 s.
describe.each(targets.map((make, i) => [i, make] as const))("appgraph CLI (target %i)", { timeout: 120_000 }, (_i, make) => {
  let target: Target;
  beforeAll(async () => {
    target = await make();
    if (target.env.DATABASE_URL) {
      // PostgreSQL is migrated as a deploy step; the CLI says so when it is not.
      expect(appgraph(target.env, "app", "list").stderr).toMatch(/npm run db:migrate/);
      const migrated = appgraph(target.env, "db", "migrate");
      expect(migrated.stdout).toMatch(/applied: \d+_init/);
      expect(appgraph(target.env, "db", "migrate").stdout).toMatch(/No pending migrations/);
    }
  });
  afterAll(() => target?.cleanup());

  it("imports an app and prints one JSON line last, lists, exports and deletes it", () => {
    const imported = appgraph(target.env, "app", "import", fixturePath("dsl-corpus/advanced-chat-knowledge-thinking-assistant.yml"));
    expect(imported.status).toBe(0);
    const app = JSON.parse(imported.last);
    expect(Object.keys(app)).toEqual(["id", "code", "mode", "name"]);
    expect(app).toMatchObject({ mode: "advanced-chat", name: "思考助手", code: expect.stringMatching(/^[A-Za-z0-9]{16}$/) });
    expect(imported.stderr).toMatch(/warning: model provider yi /);

    const listed = appgraph(target.env, "app", "list").stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(listed.map((a) => a.id)).toContain(app.id);

    const exported = appgraph(target.env, "app", "export", app.id);
    expect(exported.status).toBe(0);
    // This older export has no conversation_variables: the export writes the default.
    const original = YAML.parse(fixture("dsl-corpus/advanced-chat-knowledge-thinking-assistant.yml")).workflow;
    expect(YAML.parse(exported.stdout).workflow).toEqual({ conversation_variables: [], ...original });

    expect(JSON.parse(appgraph(target.env, "app", "delete", app.id).last)).toEqual({ deleted: app.id });
    const gone = appgraph(target.env, "app", "export", app.id);
    expect(gone.status).toBe(1);
    expect(gone.stderr).toMatch(/^appgraph: App .* not found/);
  });

  it("refuses a broken DSL with an error naming the field, and writes nothing", () => {
    const file = path.join(os.tmpdir(), `broken-${process.pid}.yml`);
    fs.writeFileSync(file, "app:\n  name: Broken\n  mode: workflow\nkind: app\nversion: 0.6.0\n");
    const before = appgraph(target.env, "app", "list").stdout;
    const r = appgraph(target.env, "app", "import", file);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe("appgraph: DSL field workflow: required for workflow apps");
    expect(appgraph(target.env, "app", "list").stdout).toBe(before);
    fs.rmSync(file);
  });

  it("explains its usage", () => {
    const r = appgraph(target.env, "app", "frobnicate");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command: app frobnicate/);
    expect(appgraph(target.env, "app", "import").stderr).toMatch(/missing FILE.yml/);
  });
});

describe("appgraph CLI and a running embedded server", { timeout: 120_000 }, () => {
  it("refuses to touch a data directory a server holds, and works again once it stops", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-lock-"));
    const env = { DATA_DIR: dir, PORT: "0", LOG_LEVEL: "warn" };
    const server = spawn(process.execPath, [path.join(root, "dist/server.js")], { env: { ...baseEnv, ...env } });
    try {
      let out = "";
      await new Promise<void>((resolve, reject) => {
        server.stdout.on("data", (d) => {
          out += d;
          if (out.includes("share code")) resolve();
        });
        server.once("exit", (code) => reject(new Error(`server exited ${code}`)));
      });
      const refused = appgraph({ DATA_DIR: dir }, "app", "import", fixturePath("apps/chat-travel-planner.yml"));
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(new RegExp(`in use by an appgraph server \\(pid ${server.pid}\\)`));
      // A second server is refused too.
      const second = spawnSync(process.execPath, [path.join(root, "dist/server.js")], { env: { ...baseEnv, ...env }, encoding: "utf8" });
      expect(second.status).toBe(1);
      expect(second.stderr).toMatch(/in use by an appgraph server/);
    } finally {
      server.kill("SIGTERM");
      await new Promise((r) => server.once("exit", r));
    }
    expect(fs.existsSync(path.join(dir, "appgraph.lock"))).toBe(false);
    const listed = appgraph({ DATA_DIR: dir }, "app", "list");
    expect(listed.status).toBe(0);
    expect(listed.stdout).toMatch(/appgraph demo chat/);
    expect(listed.stdout).not.toMatch(/Travel planner/); // the refused import wrote nothing
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("takes over a stale lock left by a process that died", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-stale-"));
    fs.writeFileSync(path.join(dir, "appgraph.lock"), JSON.stringify({ pid: 2 ** 22 + 12345, holder: "server" }));
    const r = appgraph({ DATA_DIR: dir }, "app", "import", fixturePath("apps/completion-slogan-writer.yml"));
    expect(r.status).toBe(0);
    expect(JSON.parse(r.last).mode).toBe("completion");
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
