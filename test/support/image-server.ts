// A real HTTP server of pictures (and of the ways fetching one goes wrong), for remote-file tests.
//
//   const images = await startImageServer("127.0.0.2");
//   images.url("/cat.png")          // 200 image/png, PICTURE's bytes (so is any other *.png path)
//   images.url("/page.html")        // 200 text/html
//   images.url("/missing.png")      // 404
//   images.url("/huge.png")         // 200 image/png, 64 KiB sent in chunks, no Content-Length
//   images.url(`/redirect?to=${encodeURIComponent(target)}`)   // 302 to target
//   images.requests                 // the paths asked for, in order
import http from "node:http";
import type { AddressInfo } from "node:net";

/** A 1×1 PNG. */
export const PICTURE = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");

export type ImageServer = { url(path: string): string; requests: string[]; close(): Promise<void> };

export async function startImageServer(host = "127.0.0.1"): Promise<ImageServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    requests.push(url.pathname);
    if (url.pathname === "/page.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      return res.end("<p>not a picture</p>");
    }
    if (url.pathname === "/huge.png") {
      res.writeHead(200, { "content-type": "image/png" });
      for (let i = 0; i < 64; i++) res.write(Buffer.alloc(1024, i));
      return res.end();
    }
    if (url.pathname === "/redirect") {
      res.writeHead(302, { location: url.searchParams.get("to") ?? "/" });
      return res.end();
    }
    if (url.pathname.endsWith(".png") && url.pathname !== "/missing.png") {
      res.writeHead(200, { "content-type": "image/png", "content-length": PICTURE.length });
      return res.end(PICTURE);
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("no such picture");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://${host}:${port}${path}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
