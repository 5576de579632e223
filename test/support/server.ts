// Real servers for tests: a fresh PGlite directory, or a fresh database on DATABASE_URL's server.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { EventEmitter, once } from "node:events";
import pg from "pg";
import pino, { type Logger } from "pino";
import { loadConfig, type Config } from "../../src/config.js";
import { openDatabase } from "../../src/db/client.js";
import { startServer, type RunningServer } from "../../src/server.js";
import { importApp } from "../../src/core/apps/app.service.js";
import { gql, type GqlResult } from "./graphql.js";

export type Backend = "pglite" | "postgres";

/** PGlite always; PostgreSQL too when DATABASE_URL is set (CI sets it). */
export const backends: Backend[] = ["pglite", ...(process.env.DATABASE_URL ? (["postgres"] as const) : [])];

/** The databases, plus the Redis task store (on PGlite) when REDIS_URL is set: for suites of streams and tasks. */
export const taskBackends: [string, Backend, Record<string, string>][] = [
  ...backends.map((b) => [b, b, {}] as [string, Backend, Record<string, string>]),
  ...(process.env.REDIS_URL ? [["pglite + redis", "pglite", { REDIS_URL: process.env.REDIS_URL }] as [string, Backend, Record<string, string>]] : []),
];

export const fixture = (name: string) => fs.readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8");

export const TEST_SECRET = "appgraph-test-secret-key-0123456789";

/** A throwaway database on DATABASE_URL's server, dropped by the returned function. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.DATABASE_URL!;
  const name = `appgraph_test_${crypto.randomBytes(6).toString("hex")}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

export type TestServer = RunningServer & {
  backend: Backend;
  config: Config;
  /** Import a DSL (file name under test/fixtures, or the YAML itself). */
  importApp(dsl: string): Promise<{ id: string; code: string; mode: string; name: string }>;
  /** A passport for a new end user of the app. */
  passport(code: string, userId?: string): Promise<string>;
  api(pathname: string, init?: RequestInit & { passport?: string; appCode?: string }): Promise<Response>;
  /** A JSON POST to /graphql (see ./graphql.ts for SSE and graphql-ws). */
  graphql(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GqlResult>;
  /**
   * Resolves when this server next opens a reader on task `taskId`'s event log: a follower that has
   * subscribed and will see everything appended from then on. Call it before subscribing.
   */
  readerOpened(taskId: string): Promise<void>;
};

/** `log`: the server's logger (default: silent), for tests that read what it logs. */
export async function startTestServer(backend: Backend, env: Record<string, string> = {}, log?: Logger): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-test-"));
  // A caller that passes DATABASE_URL shares that database (several instances); else each server gets its own.
  const database = backend === "postgres" && !env.DATABASE_URL ? await createTestDatabase() : null;
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: "0",
    SECRET_KEY: TEST_SECRET,
    LOG_LEVEL: "silent",
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...env,
  });
  if (backend === "postgres") {
    const db = await openDatabase({ kind: "postgres", url: config.databaseUrl! });
    await db.migrate();
    await db.close();
  }
  const running = await startServer(config, log ?? pino({ level: "silent" }));
  const api: TestServer["api"] = (pathname, init = {}) => {
    const headers = new Headers(init.headers);
    if (init.passport) headers.set("X-App-Passport", init.passport);
    if (init.appCode) headers.set("X-App-Code", init.appCode);
    return fetch(`${running.url}/api${pathname}`, { ...init, headers });
  };
  // A pass-through tap on the task store's read (the real one still runs): it is the moment a
  // follower commits to a log, which no response shows (yoga's SSE headers go out before it).
  const readers = new EventEmitter();
  const store = running.rt.taskStore;
  const read = store.read.bind(store);
  store.read = (taskId, after, signal) => {
    readers.emit(taskId);
    return read(taskId, after, signal);
  };
  return {
    ...running,
    backend,
    config,
    async importApp(dsl) {
      const text = dsl.includes("\n") ? dsl : fixture(dsl);
      return importApp(running.rt.db, text);
    },
    async passport(code, userId) {
      const res = await api(`/passport${userId ? `?user_id=${encodeURIComponent(userId)}` : ""}`, { appCode: code });
      if (res.status !== 200) throw new Error(`passport: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { access_token: string }).access_token;
    },
    api,
    graphql: (query, variables, headers = {}) => gql(running, query, variables, { headers }),
    readerOpened: (taskId) => once(readers, taskId).then(() => undefined),
    async close() {
      await running.close();
      await database?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
