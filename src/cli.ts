#!/usr/bin/env node
// The `appgraph` command: the app registry and the database, against DATA_DIR or DATABASE_URL.
import fs from "node:fs";
import { ConfigError, loadConfig } from "./config.js";
import { openDatabase } from "./db/client.js";
import { openAdapter } from "./db/adapters.js";
import { DataDirLockedError, lockDataDir } from "./db/lock.js";
import { diffSchema, migrationStatus, writeMigration } from "./db/migrations.js";
import { deleteApp, exportApp, importApp, listApps } from "./core/apps/app.service.js";
import { AppError } from "./core/errors.js";
import { databaseTarget } from "./server.js";

const USAGE = `usage: appgraph <command>

  app import FILE.yml       import a Dify app DSL; prints {"id","code","mode","name"} as the last line
  app list                  one JSON line per app
  app export ID             the app as Dify DSL (YAML) on stdout
  app delete ID             delete the app and everything of it
  db migrate                apply pending migrations (embedded data directory or DATABASE_URL)
  db status                 migration status as JSON
  db create-migration NAME  write prisma/migrations/<timestamp>_NAME from changes to prisma/schema.prisma

Environment: DATA_DIR (default ./data) or DATABASE_URL; see README.md.`;

class UsageError extends Error {}

/** Open the configured database for one command; embedded data directories are locked and migrated first. */
async function withDatabase<T>(fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>, migrate = true): Promise<T> {
  const config = loadConfig();
  const target = databaseTarget(config);
  const release = target.kind === "pglite" ? lockDataDir(config.dataDir, "cli") : () => {};
  try {
    const database = await openDatabase(target);
    try {
      if (migrate && target.kind === "pglite") await database.migrate();
      return await fn(database);
    } finally {
      await database.close();
    }
  } finally {
    release();
  }
}

async function run(args: string[]): Promise<void> {
  const [area, command, arg] = args;
  const need = (what: string) => {
    if (!arg) throw new UsageError(`appgraph ${area} ${command}: missing ${what}`);
    return arg;
  };
  switch (`${area} ${command}`) {
    case "app import": {
      const file = need("FILE.yml");
      let text: string;
      try {
        text = fs.readFileSync(file, "utf8");
      } catch (err) {
        throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
      }
      const imported = await withDatabase(({ db }) => importApp(db, text));
      for (const w of imported.warnings) console.error(`warning: ${w}`);
      console.log(JSON.stringify({ id: imported.id, code: imported.code, mode: imported.mode, name: imported.name }));
      return;
    }
    case "app list":
      for (const app of await withDatabase(({ db }) => listApps(db))) console.log(JSON.stringify(app));
      return;
    case "app export":
      process.stdout.write(await withDatabase(({ db }) => exportApp(db, need("ID"))));
      return;
    case "app delete": {
      const id = need("ID");
      await withDatabase(({ db }) => deleteApp(db, id));
      console.log(JSON.stringify({ deleted: id }));
      return;
    }
    case "db migrate": {
      const applied = await withDatabase(async (database) => database.migrate(), false);
      console.log(applied.length ? `applied: ${applied.join(", ")}` : "No pending migrations");
      return;
    }
    case "db status": {
      const config = loadConfig();
      const target = databaseTarget(config);
      const release = target.kind === "pglite" ? lockDataDir(config.dataDir, "cli") : () => {};
      try {
        const handle = await openAdapter(target);
        try {
          console.log(JSON.stringify(await migrationStatus(handle.factory), null, 2));
        } finally {
          await handle.close();
        }
      } finally {
        release();
      }
      return;
    }
    case "db create-migration": {
      const name = need("NAME");
      // Replay the history into a throwaway in-memory PGlite and diff it with schema.prisma: no server needed.
      const shadow = await openAdapter({ kind: "pglite", dir: "memory://" });
      try {
        const sql = await diffSchema(shadow.factory);
        console.log(sql === null ? "No schema changes: nothing written" : `wrote ${writeMigration(name, sql)}`);
      } finally {
        await shadow.close();
      }
      return;
    }
    default:
      throw new UsageError(args.length ? `unknown command: ${args.join(" ")}\n\n${USAGE}` : USAGE);
  }
}

try {
  await run(process.argv.slice(2));
  process.exit(0); // the wasm migration engine can keep the event loop alive
} catch (err) {
  if (err instanceof UsageError || err instanceof DataDirLockedError || err instanceof AppError || err instanceof ConfigError) {
    console.error(`appgraph: ${err instanceof ConfigError ? "configuration error: " : ""}${err.message}`);
    process.exit(err instanceof UsageError || err instanceof ConfigError ? 2 : 1);
  }
  if ((err as { code?: string }).code === "P2021") {
    console.error("appgraph: the database has no appgraph tables yet: run `npm run db:migrate` first");
    process.exit(1);
  }
  throw err;
}
