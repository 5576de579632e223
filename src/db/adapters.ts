// Driver adapters for Prisma: PGlite (embedded) and PostgreSQL (pg), each with the
// fixes the offline migration engine needs (see stack guide, pitfalls 5-9).
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PGlite } from "@electric-sql/pglite";
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";

export type DatabaseTarget = { kind: "pglite"; dir: string } | { kind: "postgres"; url: string };

export type AdapterHandle = {
  factory: SqlMigrationAwareDriverAdapterFactory;
  close(): Promise<void>;
};

// pglite-prisma-adapter 0.7.2: executeScript() does not await PGlite.exec(), and the schema engine
// never releases its session advisory lock on the one PGlite session the app shares.
function fixPgliteAdapter(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const a = adapter as any;
  a.dispose = async () => {
    await a.client.query("SELECT pg_advisory_unlock_all()").catch(() => {});
  };
  a.executeScript = async (script: string) => {
    try {
      await a.client.exec(script);
    } catch (e) {
      a.onError(e);
    }
  };
  return adapter;
}

// adapter-pg 7.10: executeScript() splits on ";", which breaks $$ bodies and literals. Send it whole.
function fixPgAdapter(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const a = adapter as any;
  a.executeScript = async (script: string) => {
    try {
      await a.client.query(script);
    } catch (e) {
      a.onError(e);
    }
  };
  return adapter;
}

// adapter-pg 7.10 cannot map the "char" type (OID 18) that the schema engine's catalog queries return.
class CharAsTextPool extends pg.Pool {
  query(...args: any[]): any {
    const result = (super.query as any)(...args);
    if (!result || typeof result.then !== "function") return result;
    return result.then((res: any) => {
      for (const f of res?.fields ?? []) if (f.dataTypeID === 18) f.dataTypeID = 25;
      return res;
    });
  }
}

async function postgresHandle(url: string): Promise<AdapterHandle> {
  const base = new PrismaPg({ connectionString: url });
  const connectTo = async (u: string) =>
    fixPgAdapter(await new PrismaPg(new CharAsTextPool({ connectionString: u }), { disposeExternalPool: true }).connect());
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const factory: SqlMigrationAwareDriverAdapterFactory = {
    provider: base.provider,
    adapterName: base.adapterName,
    connect: () => connectTo(url),
    // Not base.connectToShadowDb(): with a connectionString, pg would point the "shadow" at the main database.
    connectToShadowDb: async () => {
      const name = `prisma_migrate_shadow_db_${crypto.randomUUID()}`;
      await admin(`CREATE DATABASE "${name}"`);
      const shadowUrl = new URL(url);
      shadowUrl.pathname = `/${name}`;
      const shadow = await connectTo(shadowUrl.toString());
      const dispose = shadow.dispose.bind(shadow);
      shadow.dispose = async () => {
        await dispose();
        await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      };
      return shadow;
    },
  };
  return { factory, close: async () => {} };
}

async function pgliteHandle(dir: string): Promise<AdapterHandle> {
  if (!dir.includes("://")) fs.mkdirSync(path.resolve(dir), { recursive: true });
  const pglite = await PGlite.create(dir);
  const base = new PrismaPGlite(pglite);
  const factory: SqlMigrationAwareDriverAdapterFactory = {
    provider: base.provider,
    adapterName: base.adapterName,
    connect: async () => fixPgliteAdapter(await base.connect()),
    connectToShadowDb: async () => fixPgliteAdapter(await base.connectToShadowDb()),
  };
  return { factory, close: () => pglite.close() };
}

export function openAdapter(target: DatabaseTarget): Promise<AdapterHandle> {
  return target.kind === "postgres" ? postgresHandle(target.url) : pgliteHandle(target.dir);
}
