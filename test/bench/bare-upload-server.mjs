// The upload baseline: a bare node:http server piping each request body into a file, then answering 201.
// Run as a forked child (own process, own event loop); the parent sends the directory over IPC,
// we listen on a free port and send it back.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { pipeline } from "node:stream/promises";

process.once("message", ({ dir }) => {
  let n = 0;
  const server = http.createServer(async (req, res) => {
    const file = path.join(dir, `bare-upload-${++n}`);
    try {
      await pipeline(req, fs.createWriteStream(file));
      const size = (await fs.promises.stat(file)).size;
      await fs.promises.rm(file, { force: true });
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ size }));
    } catch (err) {
      res.writeHead(500);
      res.end(String(err));
    }
  });
  server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
});

// Exit with the parent, even if it dies without killing us.
process.on("disconnect", () => process.exit(0));
