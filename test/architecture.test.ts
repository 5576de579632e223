// The import walls that keep one core and two thin surfaces: the core imports no adapter and no
// surface; a surface imports neither the other surface nor the database or the event log.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..");
const src = path.join(root, "src");

type Import = { from: string; spec: string; target: string | null; typeOnly: boolean };

/** Every static or dynamic import of every source file under src/, resolved to a src-relative path. */
export function importsOf(dir = src): Import[] {
  const out: Import[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
    const file = path.join(entry.parentPath, entry.name);
    const from = path.relative(src, file);
    if (from.startsWith("generated")) continue;
    const text = fs.readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:^|\n)\s*((?:import|export)[^'"]*?)from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
      const spec = m[2] ?? m[3];
      const target = spec.startsWith(".") ? path.relative(src, path.resolve(path.dirname(file), spec)) : null;
      out.push({ from, spec, target, typeOnly: /^(import|export)\s+type\b/.test(m[1] ?? "") });
    }
  }
  return out;
}

const area = (p: string) => p.split(path.sep)[0];
const violations = (rule: (i: Import) => boolean) =>
  importsOf()
    .filter(rule)
    .map((i) => `${i.from} imports ${i.spec}`);

const ADAPTERS = ["providers", "events", "db"];
const SURFACES = ["graphql", "rest"];
const DRIVER_PACKAGES = /^(ioredis|pg|@electric-sql\/pglite|pglite-prisma-adapter|@prisma\/adapter-pg|ws|graphql-ws|graphql-yoga|graphql|@pothos\/.*)$/;

describe("import walls", () => {
  it("finds the imports it checks", () => {
    // A parser that found nothing would pass every rule below.
    const all = importsOf();
    expect(all.filter((i) => i.from.startsWith("core")).length).toBeGreaterThan(100);
    expect(all.some((i) => i.from === path.join("graphql", "builder.ts") && i.spec === "@pothos/core")).toBe(true);
  });

  it("the core imports no adapter, no surface and no root module", () => {
    expect(
      violations((i) => area(i.from) === "core" && i.target !== null && area(i.target) !== "core" && area(i.target) !== "generated"),
    ).toEqual([]);
  });

  it("the core imports no driver, transport or GraphQL package", () => {
    expect(violations((i) => area(i.from) === "core" && i.target === null && DRIVER_PACKAGES.test(i.spec))).toEqual([]);
  });

  it("adapters import the core's ports and errors, never a surface", () => {
    expect(
      violations((i) => ADAPTERS.includes(area(i.from)) && i.target !== null && SURFACES.includes(area(i.target))),
    ).toEqual([]);
  });

  it("a surface reaches data only through the core's use cases: no database client, no task runner", () => {
    expect(
      violations((i) => {
        if (!SURFACES.includes(area(i.from)) || i.target === null) return false;
        const to = i.target.replace(/\.js$/, "");
        if (to === path.join("core", "ports", "database") || to.startsWith(path.join("core", "tasks", "task-runner"))) return true;
        // Generated Prisma types name records; its client and query values are the core's alone.
        return area(to) === "generated" && !i.typeOnly;
      }),
    ).toEqual([]);
  });

  it("workflow runs import nothing from model generation: what chat apps and chatflows share lives in core/chat", () => {
    const inCore = (p: string, dir: string) => p.startsWith(path.join("core", dir) + path.sep);
    expect(violations((i) => inCore(i.from, "workflows") && i.target !== null && inCore(i.target, "generation"))).toEqual([]);
  });

  it("a surface imports neither the other surface, nor the database, nor the event log", () => {
    expect(
      violations((i) => {
        if (!SURFACES.includes(area(i.from)) || i.target === null) return false;
        const to = area(i.target);
        return (SURFACES.includes(to) && to !== area(i.from)) || to === "db" || to === "events";
      }),
    ).toEqual([]);
  });
});
