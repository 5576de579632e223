// Composition root: configuration, database (migrated), the HTTP server. `node dist/server.js` starts it.
import { pathToFileURL } from "node:url";
import pino, { type Logger } from "pino";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { openDatabase, type Database } from "./db/client.js";
import type { DatabaseTarget } from "./db/adapters.js";
import { DataDirLockedError, lockDataDir } from "./db/lock.js";
import { createHttpServer } from "./http-server.js";
import { countApps, importApp, listApps } from "./core/apps/app.service.js";
import { DEMO_APP_DSL } from "./core/apps/demo-app.js";
import { createCore, type Core } from "./core/services.js";
import type { Db } from "./core/ports/database.js";
import type { TaskStore } from "./core/ports/task-store.js";
import { safeFetch, safeFetchStream } from "./providers/http/safe-fetch.js";
import { DocumentTextReader } from "./providers/documents/index.js";
import { createCodeSandbox, type CodeSandbox } from "./providers/sandbox/index.js";
import { createRateLimiters } from "./providers/rate-limit/rate-limiters.js";
import { MemoryTaskStore } from "./events/memory-task-store.js";
import { RedisTaskStore } from "./events/redis-task-store.js";
import { createModelProvider } from "./providers/model/index.js";
import { createSpeechProvider } from "./providers/speech/index.js";
import { createS3Storage } from "./providers/storage/s3.js";
import { LocalDiskStorage } from "./providers/storage/local-disk.js";
import path from "node:path";

export function databaseTarget(config: Config): DatabaseTarget {
  return config.databaseUrl
    ? { kind: "postgres", url: config.databaseUrl }
    : { kind: "pglite", dir: path.join(config.dataDir, "pglite") };
}

export type RunningServer = {
  url: string;
  port: number;
  /** The wiring, for the CLI-side code and tests that set up or inspect data; surfaces never see it. */
  rt: { config: Config; db: Db; log: Logger; core: Core; viewers: Core["viewers"]; taskStore: TaskStore; statements(): number };
  demo: { code: string } | null;
  close(): Promise<void>;
  /**
   * Stop gracefully (SIGTERM): take no new connections, let running generations and runs finish for up
   * to `drainMs`, hand the rest over (see TaskRunner.drain), then close.
   */
  shutdown(drainMs: number): Promise<void>;
};

export async function startServer(config: Config, log: Logger = pino({ level: config.logLevel })): Promise<RunningServer> {
  const target = databaseTarget(config);
  const release = target.kind === "pglite" ? lockDataDir(config.dataDir, "server") : () => {};
  let database: Database | undefined;
  try {
    database = await openDatabase(target);
    // Embedded: migrate inside the server process, the only one allowed on the data directory.
    // PostgreSQL: migrations are a deploy step (`npm run db:migrate`), not a side effect of starting.
    if (target.kind === "pglite") {
      const applied = await database.migrate();
      if (applied.length) log.info({ applied }, "applied migrations");
    }
    const retention = { retentionMs: config.taskRetentionMs, tombstoneMs: 24 * 3600 * 1000 };
    const taskStore = config.redisUrl ? new RedisTaskStore(config.redisUrl, { ...retention, ...config.taskEvents }) : new MemoryTaskStore(retention);
    const rateLimiters = await createRateLimiters(config.redisUrl);
    let sandbox: CodeSandbox | undefined;
    const documents = new DocumentTextReader();
    // Its engine (the embedded one's worker) starts on first use.
    const speech = createSpeechProvider(config.speech);
    // Uploaded files: local disk under DATA_DIR (the zero-config default), or S3 when S3_BUCKET is set.
    const storage = config.storage.kind === "s3" ? createS3Storage(config.storage) : new LocalDiskStorage(path.join(config.dataDir, "storage"));
    const core = createCore({
      db: database.db,
      log,
      secretKey: config.secretKey,
      models: createModelProvider(config),
      speech,
      taskStore,
      rateLimiter: rateLimiters.limiter,
      fetch: (url, init, options) => safeFetch(url, init, { ...options, allow: config.outboundAllow }),
      fetchStream: (url, init, options) => safeFetchStream(url, init, { ...options, allow: config.outboundAllow }),
      remoteFiles: config.remoteFiles,
      documents,
      storage,
      storageType: config.storage.kind,
      files: config.files,
      // Python workers take seconds to start: only a run that reaches a code node starts them.
      sandbox: () => (sandbox ??= createCodeSandbox()),
      // Embedded, this process alone holds the data directory: whatever ran before it is dead.
      lease: { leaseMs: config.instanceLeaseMs, exclusive: target.kind === "pglite" },
    });
    await core.open();
    const rt = { config, db: database.db, log, core, viewers: core.viewers, taskStore, statements: database.statements };
    let demo: { code: string } | null = null;
    if (target.kind === "pglite" && (await countApps(rt.db)) === 0) {
      const imported = await importApp(rt.db, DEMO_APP_DSL);
      demo = { code: imported.code };
      log.info({ appId: imported.id, code: imported.code }, "imported the demo chat app");
    }
    const http = createHttpServer(core.services, config, log);
    // Human input forms whose node timeout passed send their runs down the timeout branch.
    const sweeper = setInterval(() => {
      core.resumeTimedOutForms().catch((err) => log.warn({ err }, "human input timeout sweep failed"));
    }, 15_000);
    sweeper.unref();
    // Uploads no message or run used, past FILES_RETENTION_HOURS (0: never). Every instance sweeps;
    // they take different rows (see removeUnusedFiles).
    const { retentionMs, intervalMs } = config.fileCleanup;
    // One sweep at a time here, and close() waits for it rather than closing the database under it.
    let fileSweep: Promise<void> | undefined;
    const fileCleaner = retentionMs > 0
      ? setInterval(() => {
          fileSweep ??= core
            .removeUnusedFiles({ retentionMs })
            .then(() => {}, (err) => log.warn({ err }, "unused file sweep failed"))
            .finally(() => (fileSweep = undefined));
        }, intervalMs)
      : undefined;
    fileCleaner?.unref();
    await new Promise<void>((resolve, reject) => {
      http.server.once("error", reject);
      // Node's default backlog (511) overflows when thousands of clients connect at once (the bench's
      // 2,000 streams): the kernel then resets connections that were never accepted.
      http.server.listen({ port: config.port, host: config.host, backlog: 4096 }, () => resolve());
    });
    const address = http.server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const db = database;
    const close = async () => {
      clearInterval(sweeper);
      clearInterval(fileCleaner);
      await fileSweep;
      await http.close();
      await core.close(); // running generations stop and save what they have
      await sandbox?.close();
      await documents.close();
      await speech.close();
      await taskStore.close();
      await storage.close();
      await rateLimiters.close();
      await db.close();
      release();
    };
    return {
      url: `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`,
      port,
      rt,
      demo,
      close,
      async shutdown(drainMs: number) {
        http.stopAccepting();
        await core.drain(drainMs);
        await close();
      },
    };
  } catch (err) {
    await database?.close().catch(() => {});
    release();
    throw err;
  }
}

async function main() {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`appgraph: configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = pino({ level: config.logLevel });
  let running: RunningServer;
  try {
    running = await startServer(config, log);
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      console.error(`appgraph: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  log.info({ url: running.url, graphiql: `${running.url}/graphql`, database: running.rt.config.databaseUrl ? "postgresql" : "pglite" }, "appgraph is listening");
  const apps = (await listApps(running.rt.db)).slice(0, 10);
  const codes = apps.map((a) => `\n  app ${JSON.stringify(a.name)} (${a.mode}): share code ${a.code}`).join("");
  console.log(`appgraph listening on ${running.url}\n  GraphiQL: ${running.url}/graphql\n  Web API:  ${running.url}/api (send a share code as X-App-Code to GET /api/passport)${codes}`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, drainMs: config.drainTimeoutMs }, "shutting down: draining");
    await running.shutdown(config.drainTimeoutMs);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
