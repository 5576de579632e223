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
  /** How many SQL statements the client has sent so far (reads and writes): lets tests see N+1 patterns. */
  statements(): number;
  close(): Promise<void>;
};

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  const handle = await openAdapter(target);
  let statements = 0;
  const counting: typeof handle.factory = {
    ...handle.factory,
    connect: async () => {
      const adapter = await handle.factory.connect();
      const { queryRaw, executeRaw } = adapter;
      adapter.queryRaw = (query) => (statements++, queryRaw.call(adapter, query));
      adapter.executeRaw = (query) => (statements++, executeRaw.call(adapter, query));
      return adapter;
    },
  };
  const db = new PrismaClient({ adapter: counting });
  return {
    db,
    target,
    statements: () => statements,
    migrate: () => applyMigrations(handle.factory),
    async close() {
      await db.$disconnect();
      await handle.close();
    },
  };
}
