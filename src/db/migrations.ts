// Offline `prisma migrate` through @prisma/schema-engine-wasm: the same engine code as the CLI,
// writing Prisma's own `_prisma_migrations` table, so an online `prisma migrate deploy` agrees later.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";

const require = createRequire(import.meta.url);

/** `prisma/` at the package root, from src/db (tests) and dist/db (built) alike. */
export const prismaDir = fileURLToPath(new URL("../../prisma/", import.meta.url));
export const migrationsDir = path.join(prismaDir, "migrations");
export const schemaPath = path.join(prismaDir, "schema.prisma");

let runtime: Promise<any> | undefined;

// The package entry imports a .wasm file as ESM, which Node 20 refuses; instantiate it by hand, once.
function loadRuntime(): Promise<any> {
  return (runtime ??= (async () => {
    const rt: any = await import("@prisma/schema-engine-wasm/schema_engine_bg");
    const dir = path.dirname(require.resolve("@prisma/schema-engine-wasm/schema_engine_bg"));
    const wasm = new WebAssembly.Module(fs.readFileSync(path.join(dir, "schema_engine_bg.wasm")));
    const instance = new WebAssembly.Instance(wasm, { "./schema_engine_bg.js": rt });
    rt.__wbg_set_wasm(instance.exports);
    (instance.exports as any).__wbindgen_start();
    return rt;
  })());
}

const noFilters = { externalTables: [] as string[], externalEnums: [] as string[] };

// The engine never disposes the connections it opens (advisory locks and shadow databases stay):
// track them and dispose them after free().
async function withEngine<T>(
  factory: SqlMigrationAwareDriverAdapterFactory,
  withSchema: boolean,
  fn: (engine: any) => Promise<T>,
): Promise<T> {
  const rt = await loadRuntime();
  const opened: { dispose(): Promise<void> }[] = [];
  const tracking: SqlMigrationAwareDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => {
      const a = await factory.connect();
      opened.push(a);
      return a;
    },
    connectToShadowDb: async () => {
      const a = await factory.connectToShadowDb();
      opened.push(a);
      return a;
    },
  };
  const datamodels = withSchema ? [[schemaPath, fs.readFileSync(schemaPath, "utf8")]] : undefined;
  const log = (m: string) => process.env.DEBUG_MIGRATE && console.error(m);
  const engine = await rt.SchemaEngine.new({ datamodels }, log, bindMigrationAwareSqlAdapterFactory(tracking));
  try {
    return await fn(engine);
  } finally {
    engine.free();
    for (const a of opened.reverse()) await a.dispose().catch(() => {});
  }
}

// The MigrationList shape the Prisma CLI builds.
function listMigrations() {
  const lock = path.join(migrationsDir, "migration_lock.toml");
  const names = fs.existsSync(migrationsDir)
    ? fs.readdirSync(migrationsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()
    : [];
  return {
    baseDir: migrationsDir,
    lockfile: { path: "migration_lock.toml", content: fs.existsSync(lock) ? fs.readFileSync(lock, "utf8") : null },
    shadowDbInitScript: "",
    migrationDirectories: names.map((name) => {
      const file = path.join(migrationsDir, name, "migration.sql");
      return {
        path: name,
        migrationFile: {
          path: "migration.sql",
          content: fs.existsSync(file)
            ? { tag: "ok", value: fs.readFileSync(file, "utf8") }
            : { tag: "error", value: `${file} not found` },
        },
      };
    }),
  };
}

/** = prisma migrate deploy. Returns the names of the migrations it applied. */
export function applyMigrations(factory: SqlMigrationAwareDriverAdapterFactory): Promise<string[]> {
  return withEngine(factory, false, async (engine) => {
    const result = await engine.applyMigrations({ migrationsList: listMigrations(), filters: noFilters });
    return result.appliedMigrationNames as string[];
  });
}

/** = prisma migrate status. */
export function migrationStatus(factory: SqlMigrationAwareDriverAdapterFactory): Promise<unknown> {
  return withEngine(factory, false, (engine) =>
    engine.diagnoseMigrationHistory({ migrationsList: listMigrations(), optInToShadowDatabase: false, filters: noFilters }),
  );
}

/**
 * = prisma migrate dev --create-only: replays the migrations into a shadow database and diffs them
 * against schema.prisma. Returns the SQL, or null when the schema has not changed.
 */
export async function diffSchema(factory: SqlMigrationAwareDriverAdapterFactory): Promise<string | null> {
  const sql = await withEngine(factory, true, async (engine) => {
    const list = listMigrations();
    const result = await engine.diff({
      from: list.migrationDirectories.length ? { tag: "migrations", ...list } : { tag: "empty" },
      to: { tag: "schemaDatamodel", files: [{ path: schemaPath, content: fs.readFileSync(schemaPath, "utf8") }] },
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    return (result.stdout ?? "") as string;
  });
  return sql.trim() === "" || sql.includes("This is an empty migration.") ? null : sql;
}

/** Write prisma/migrations/<UTC timestamp>_<name>/migration.sql. */
export function writeMigration(name: string, sql: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const dir = path.join(migrationsDir, `${stamp}_${name.replace(/[^a-zA-Z0-9_]+/g, "_")}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "migration.sql"), sql);
  const lock = path.join(migrationsDir, "migration_lock.toml");
  if (!fs.existsSync(lock)) {
    fs.writeFileSync(lock, '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n');
  }
  return dir;
}
