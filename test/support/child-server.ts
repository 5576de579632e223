// appgraph as a child process (the built dist/server.js), for tests that kill an instance outright.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createTestDatabase, startTestServer, TEST_SECRET, type TestServer } from "./server.js";

const serverJs = fileURLToPath(new URL("../../dist/server.js", import.meta.url));

export type ChildServer = {
  url: string;
  pid: number;
  kill9(): Promise<void>;
  /** SIGTERM; resolves with the exit code once it has exited. */
  terminate(): Promise<number | null>;
  /** Everything it wrote to stdout and stderr. */
  output(): string;
};

/** Start `node dist/server.js` with `env` (on a free port); resolves when it listens. */
export async function startChildServer(env: Record<string, string>): Promise<ChildServer> {
  const child = spawn(process.execPath, [serverJs], {
    env: { PATH: process.env.PATH, HOST: "127.0.0.1", PORT: "0", SECRET_KEY: TEST_SECRET, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /appgraph listening on (http:\/\/\S+)/.exec(output);
      if (m) resolve(m[1]);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`server exited (${code}) before listening:\n${output}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    url,
    pid: child.pid!,
    async kill9() {
      child.kill("SIGKILL");
      await exited;
    },
    terminate() {
      child.kill("SIGTERM");
      return exited;
    },
    output: () => output,
  };
}

export type InstancePair = { a: ChildServer; b: TestServer; token: string; close(): Promise<void> };

/**
 * Two instances on one fresh PostgreSQL database and the shared Redis, leases of 1.5 s: B in this
 * process, A a child process a test may kill; `app` imported, and a passport for it.
 */
export async function startInstancePair(env: Record<string, string>, app: string): Promise<InstancePair> {
  const db = await createTestDatabase();
  const shared = { ...env, DATABASE_URL: db.url, REDIS_URL: process.env.REDIS_URL!, INSTANCE_LEASE_MS: "1500" };
  const b = await startTestServer("postgres", shared);
  const a = await startChildServer(shared);
  const token = await b.passport((await b.importApp(app)).code);
  return {
    a,
    b,
    token,
    async close() {
      await a.kill9();
      await b.close();
      await db.drop();
    },
  };
}
