// One Prisma client over the configured database, migrated on demand.
import { PrismaClient } from "../generated/prisma/client.js";
import { openAdapter, type DatabaseTarget } from "./adapters.js";
import { applyMigrations } from "./migrations.js";

export type Db = PrismaClient;
export { Prisma } from "../generated/prisma/client.js";

export type Database = {
  db: Db;
  target: DatabaseTarget;
  /** Apply pending migrations through this connection (PGlite has one session: never a second process). */
  migrate(): Promise<string[]>;
  close(): Promise<void>;
};

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  const handle = await openAdapter(target);
  const db = new PrismaClient({ adapter: handle.factory });
  return {
    db,
    target,
    migrate: () => applyMigrations(handle.factory),
    async close() {
      await db.$disconnect();
      await handle.close();
    },
  };
}
