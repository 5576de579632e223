// A chatflow turn whose run fails, streamed, as `npm start` serves it: the failure reaches the stream
// as an error event, and the server process goes on. Streaming callers never await a turn's result;
// left unhandled, its rejection would end the process (Node's default for unhandled rejections).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSse } from "../support/sse.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const { DATABASE_URL: _u, REDIS_URL: _r, SECRET_KEY: _k, ...baseEnv } = process.env;

describe("a streamed chatflow turn that fails, on the real server process", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-failed-turn-"));
  const env = { ...baseEnv, DATA_DIR: dataDir, PORT: "0", LOG_LEVEL: "warn" };
  let child: ReturnType<typeof spawn>;
  let exited: Promise<number | null>;
  let url: string;
  let code: string;

  beforeAll(async () => {
    // The embedded data directory is the server's alone once it runs: import the app first.
    const fixture = path.join(root, "test/fixtures/dsl-corpus/advanced-chat-time-tool-static-output.yml");
    const imported = spawnSync(process.execPath, [path.join(root, "dist/cli.js"), "app", "import", fixture], { env, encoding: "utf8" });
    expect(imported.status).toBe(0);
    code = JSON.parse(imported.stdout.trim().split("\n").at(-1)!).code;
    child = spawn(process.execPath, [path.join(root, "dist/server.js")], { env });
    exited = new Promise((resolve) => child.once("exit", resolve));
    let out = "";
    url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on("data", (d) => {
        out += d;
        const listening = out.match(/listening on (http:\/\/\S+)/);
        if (listening) resolve(listening[1]);
      });
      void exited.then((status) => reject(new Error(`exited ${status}: ${out}`)));
    });
  });

  afterAll(async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("ends the stream with the error event, and the server answers the next request", async () => {
    const passport = (await (await fetch(`${url}/api/passport`, { headers: { "X-App-Code": code } })).json()).access_token;
    const res = await fetch(`${url}/api/chat-messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "X-App-Passport": passport },
      body: JSON.stringify({ query: "what time is it", inputs: {}, response_mode: "streaming" }),
    });
    const { events } = await readSse(res);
    expect(events.find((e) => e.event === "workflow_finished").data.status).toBe("failed");
    expect(events.at(-1)).toMatchObject({ event: "error", code: "invalid_param" });
    // The run rejected its result before the stream closed: a process it had ended refuses this.
    const site = await fetch(`${url}/api/site`, { headers: { "X-App-Passport": passport } });
    expect(site.status).toBe(200);
    expect(child.exitCode).toBeNull();
  });
});
