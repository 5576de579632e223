// `npm start` on the embedded defaults: migrated, seeded with the demo app once, shut down cleanly.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const server = fileURLToPath(new URL("../dist/server.js", import.meta.url));
const { DATABASE_URL: _u, REDIS_URL: _r, SECRET_KEY: _k, ...baseEnv } = process.env;

async function start(dataDir: string) {
  const child = spawn(process.execPath, [server], { env: { ...baseEnv, DATA_DIR: dataDir, PORT: "0", LOG_LEVEL: "warn" } });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  // The start-up banner ends with a line per app; this data dir holds exactly the demo app.
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", () => /share code \w+\n/.test(out) && resolve());
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  const url = out.match(/listening on (http:\/\/\S+)/)![1];
  return { child, url, out: () => out };
}

const stop = (child: ReturnType<typeof spawn>) =>
  new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });

// Starts the real server as a child process, twice (a first start migrates an empty data directory).
describe("the embedded server", { timeout: 120_000 }, () => {
  it("imports the demo chat app on first start only, prints its code, and stops on SIGTERM", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-start-"));
    const first = await start(dir);
    const code = first.out().match(/share code ([A-Za-z0-9]{16})/)![1];
    const passport = await fetch(`${first.url}/api/passport`, { headers: { "X-App-Code": code } });
    const token = (await passport.json()).access_token;
    const site = await (await fetch(`${first.url}/api/site`, { headers: { "X-App-Passport": token } })).json();
    expect(site.site.title).toBe("appgraph demo chat");
    expect(await stop(first.child)).toBe(0);
    expect(fs.existsSync(path.join(dir, "appgraph.lock"))).toBe(false);

    const second = await start(dir);
    expect(second.out().match(/share code [A-Za-z0-9]{16}/g)).toHaveLength(1); // the same one app, not a second demo
    expect(second.out()).toContain(code);
    // The passport from the first run still works: the embedded secret key is kept in DATA_DIR.
    expect((await fetch(`${second.url}/api/site`, { headers: { "X-App-Passport": token } })).status).toBe(200);
    expect(await stop(second.child)).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
