// Helpers for upload tests: multipart forms, and what the server's local storage holds.
import fs from "node:fs";
import path from "node:path";
import type { TestServer } from "./server.js";

/** A multipart form: parts with a filename are files. */
export function form(parts: { name: string; filename?: string; type?: string; body: Buffer | string }[]): FormData {
  const fd = new FormData();
  for (const p of parts) {
    if (p.filename === undefined) fd.append(p.name, String(p.body));
    else fd.append(p.name, new Blob([typeof p.body === "string" ? p.body : new Uint8Array(p.body)], { type: p.type ?? "application/octet-stream" }), p.filename);
  }
  return fd;
}

/** Every file under the server's storage directory (temporary files included). */
export function storedFiles(s: TestServer): string[] {
  const root = path.join(s.config.dataDir, "storage");
  return fs.existsSync(root) ? (fs.readdirSync(root, { recursive: true, withFileTypes: true }) as fs.Dirent[]).filter((d) => d.isFile()).map((d) => d.name) : [];
}

