// PGlite has no lock of its own: two processes on one data directory corrupt it. The server (and the
// CLI, while it works) keep a lock file in DATA_DIR holding their pid.
import fs from "node:fs";
import path from "node:path";

export class DataDirLockedError extends Error {}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Take the lock or throw DataDirLockedError naming its holder. Returns the release function. */
export function lockDataDir(dataDir: string, holder: "server" | "cli"): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, "appgraph.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify({ pid: process.pid, holder, since: new Date().toISOString() }), { flag: "wx" });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        fs.rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let owner: { pid?: number; holder?: string } = {};
    try {
      owner = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
      // A torn write: treat as stale.
    }
    if (typeof owner.pid === "number" && alive(owner.pid)) {
      throw new DataDirLockedError(
        `${dataDir} is in use by an appgraph ${owner.holder ?? "process"} (pid ${owner.pid}); stop it first, ` +
          `or point DATABASE_URL at PostgreSQL to run several processes on one database`,
      );
    }
    fs.rmSync(file, { force: true }); // stale: its process is gone
  }
  throw new DataDirLockedError(`could not take the lock in ${dataDir}`);
}
