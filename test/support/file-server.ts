// A real HTTP server of fixed files, for document tests: each path answers 200 with its type and bytes,
// anything else 404.
//
//   const files = await startFileServer("127.0.0.2", { "/a.pdf": { type: "application/pdf", body: bytes } });
//   files.url("/a.pdf")
import http from "node:http";
import type { AddressInfo } from "node:net";

export type ServedFile = { type: string; body: Uint8Array | string };
export type FileServer = { url(path: string): string; requests: string[]; close(): Promise<void> };

export async function startFileServer(host: string, files: Record<string, ServedFile>): Promise<FileServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    requests.push(path);
    const file = Object.hasOwn(files, path) ? files[path] : undefined;
    if (!file) {
      res.writeHead(404, { "content-type": "text/plain" });
      return res.end("no such file");
    }
    res.writeHead(200, { "content-type": file.type });
    res.end(file.body);
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
