// A real HTTP server of fixed files, for document and remote-file tests: each path answers 200 with its
// type and bytes, anything else 404. A file's `head` changes how HEAD is answered: another status (405:
// HEAD refused), or another declared length (null: none).
//
//   const files = await startFileServer("127.0.0.2", { "/a.pdf": { type: "application/pdf", body: bytes } });
//   files.url("/a.pdf")
//   files.requests                  // the paths asked for, in order
//   files.calls                     // the same, with their methods: { method: "HEAD", path: "/a.pdf" }
import http from "node:http";
import type { AddressInfo } from "node:net";

export type ServedFile = { type: string; body: Uint8Array | string; head?: { status?: number; length?: number | null } };
export type FileServer = { url(path: string): string; requests: string[]; calls: { method: string; path: string }[]; close(): Promise<void> };

export async function startFileServer(host: string, files: Record<string, ServedFile>): Promise<FileServer> {
  const requests: string[] = [];
  const calls: { method: string; path: string }[] = [];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    requests.push(path);
    calls.push({ method: req.method ?? "GET", path });
    const file = Object.hasOwn(files, path) ? files[path] : undefined;
    if (!file) {
      res.writeHead(404, { "content-type": "text/plain" });
      return res.end("no such file");
    }
    if (req.method === "HEAD" && file.head) {
      const { status = 200, length = Buffer.byteLength(file.body) } = file.head;
      res.writeHead(status, { "content-type": file.type, ...(length === null ? { "transfer-encoding": "chunked" } : { "content-length": length }) });
      return res.end();
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
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
