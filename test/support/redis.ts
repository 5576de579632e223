// A redis-server of the test's own, on a free port, that the test may kill and start again (never the
// shared one). Append-only with fsync on every write, as a Redis that must not lose a task's log runs;
// or, with `persistent: false`, one that comes back empty from a restart.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const hasRedisServer = spawnSync("redis-server", ["--version"]).status === 0;

export type OwnRedis = {
  url: string;
  /** SIGKILL: no goodbye to clients, nothing flushed beyond what fsync already wrote. */
  kill(): Promise<void>;
  /** Start again on the same port and directory; resolves when it answers. */
  start(): Promise<void>;
  close(): Promise<void>;
};

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (d) => (socket.destroy(), resolve(d.toString().startsWith("+PONG"))));
    socket.once("error", () => resolve(false));
  });
}

export async function startOwnRedis({ persistent = true } = {}): Promise<OwnRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-redis-"));
  let child: ChildProcess | null = null;
  const start = async () => {
    const persistence = persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
    child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...persistence], { stdio: "ignore" });
    const deadline = Date.now() + 10_000;
    while (!(await answers(port))) {
      if (Date.now() > deadline) throw new Error("redis-server did not start");
      await new Promise((resolve) => setTimeout(resolve, 20)); // polling a process we started, not a guess
    }
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((resolve) => c.once("exit", resolve));
    c.kill("SIGKILL");
    await exited;
    child = null;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    kill,
    start,
    async close() {
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
