// The baseline: a bare node:http server answering every request with one fixed JSON body.
// Run as a forked child (own process, own event loop); the parent sends the body over IPC,
// we listen on a free port and send it back.
import http from "node:http";

process.once("message", ({ bodyBase64 }) => {
  const body = Buffer.from(bodyBase64, "base64"); // base64 keeps the bytes exact
  const headers = { "content-type": "application/json", "content-length": body.length };
  const server = http.createServer((req, res) => {
    req.resume(); // drain any request body
    res.writeHead(200, headers);
    res.end(body);
  });
  server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
});

// Exit with the parent, even if it dies without killing us.
process.on("disconnect", () => process.exit(0));
