// One migration history for both databases, applied offline through the wasm schema engine.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openAdapter } from "../../src/db/adapters.js";
import { openDatabase } from "../../src/db/client.js";
import { diffSchema, migrationsDir } from "../../src/db/migrations.js";
import { backends, createTestDatabase } from "../support/server.js";

const migrations = fs.readdirSync(migrationsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

describe("migrations", () => {
  it("match prisma/schema.prisma (no change waits for `npm run db:migrate:create`)", async () => {
    const shadow = await openAdapter({ kind: "pglite", dir: "memory://" });
    try {
      expect(await diffSchema(shadow.factory)).toBeNull();
    } finally {
      await shadow.close();
    }
  });

  it.each(backends)("apply on %s, once, recorded in Prisma's own _prisma_migrations table", async (backend) => {
    const pgdb = backend === "postgres" ? await createTestDatabase() : null;
    const database = await openDatabase(pgdb ? { kind: "postgres", url: pgdb.url } : { kind: "pglite", dir: "memory://" });
    try {
      expect(await database.migrate()).toEqual(migrations);
      expect(await database.migrate()).toEqual([]);
      const rows = await database.db.$queryRaw<{ migration_name: string; checksum: string; finished_at: Date | null }[]>`
        SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name`;
      expect(rows.map((r) => r.migration_name)).toEqual(migrations);
      for (const row of rows) {
        const sql = fs.readFileSync(path.join(migrationsDir, row.migration_name, "migration.sql"));
        expect(row.checksum).toBe(crypto.createHash("sha256").update(sql).digest("hex"));
        expect(row.finished_at).not.toBeNull();
      }
      const tables = await database.db.$queryRaw<{ table_name: string }[]>`
        SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`;
      expect(tables.map((t) => t.table_name)).toEqual(
        expect.arrayContaining([
          "apps", "sites", "end_users", "conversations", "messages", "message_feedbacks", "message_files", "saved_messages",
          "pinned_conversations", "upload_files", "workflows", "workflow_runs", "workflow_node_executions", "human_input_forms",
          "human_input_form_recipients", "accounts", "account_sessions",
        ]),
      );
    } finally {
      await database.close();
      await pgdb?.drop();
    }
  });
});
