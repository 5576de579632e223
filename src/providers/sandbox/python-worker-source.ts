// Source of the Pyodide worker process, run as `node <flags> --input-type=module -e <source> <config>`.
// It is kept as a string (plain JavaScript, no build step) so the same code runs from src/ under
// vitest and from dist/, and so no entry file has to be readable under the permission model.
//
// Layers, outermost first:
//  1. The process: Node's permission model (file reads only under the pyodide package directory;
//     no file writes, child processes, worker threads, native addons, WASI or inspector), an empty
//     environment, --disallow-code-generation-from-strings (no eval / new Function), a V8 heap cap.
//  2. The JS realm, before any user code: the network-capable globals are deleted (fetch, Request,
//     Response, Headers, FormData, WebSocket, EventSource, XMLHttpRequest, require), `process` is
//     replaced by an inert stub, and net/tls/dgram/dns/http/https/http2 are patched to throw.
//     process.kill/dlopen/binding/getBuiltinModule on the real process object throw too.
//  3. WebAssembly memory: Memory.prototype.grow refuses to grow past the run's memory limit, so a
//     huge allocation fails inside Python with MemoryError.
//  4. Python (python-prelude.ts): the JS bridge is cut, blocked modules cannot be imported, an
//     audit hook refuses sockets, processes, files outside the stdlib, ctypes and the like.
//  5. Between runs the interpreter's whole linear memory is restored from a snapshot taken after
//     start-up, so nothing one run does to the interpreter survives into the next.

/**
 * Layer 2 as a function declaration: (proc, { net, tls, dgram, dns, http, https, http2 }). Exported
 * so tests can run it under the same flags and check the realm it leaves.
 */
export const HARDEN_REALM_SOURCE = String.raw`
function hardenRealm(proc, modules) {
  const { net, tls, dgram, dns, http, https, http2 } = modules;
  const denied = (what) => function denied() {
    const error = new Error(what + " is not allowed in the sandbox");
    error.code = "ERR_ACCESS_DENIED";
    throw error;
  };
  for (const name of ["fetch", "Request", "Response", "Headers", "FormData", "WebSocket", "EventSource",
    "XMLHttpRequest", "require", "module", "exports", "__filename", "__dirname", "loadPyodide"]) {
    try { delete globalThis[name]; } catch {}
    if (name in globalThis) {
      try { Object.defineProperty(globalThis, name, { value: undefined, writable: false, configurable: false }); } catch {}
    }
  }
  net.Socket.prototype.connect = denied("net.Socket.connect");
  net.Server.prototype.listen = denied("net.Server.listen");
  net.connect = net.createConnection = denied("net.connect");
  net.createServer = denied("net.createServer");
  tls.connect = denied("tls.connect");
  tls.createServer = denied("tls.createServer");
  dgram.createSocket = denied("dgram.createSocket");
  for (const method of ["bind", "connect", "send", "addMembership"]) dgram.Socket.prototype[method] = denied("dgram." + method);
  for (const api of [dns, dns.promises]) {
    for (const key of Object.keys(api)) if (typeof api[key] === "function" && key !== "Resolver") api[key] = denied("dns." + key);
    if (api.Resolver) for (const key of Object.getOwnPropertyNames(api.Resolver.prototype)) {
      if (key !== "constructor") api.Resolver.prototype[key] = denied("dns.Resolver." + key);
    }
  }
  for (const mod of [http, https]) { mod.request = mod.get = mod.createServer = denied("http"); }
  http2.connect = http2.createServer = http2.createSecureServer = denied("http2");
  for (const key of ["kill", "dlopen", "binding", "_linkedBinding", "getBuiltinModule", "chdir", "setuid",
    "setgid", "seteuid", "setegid", "setgroups", "initgroups", "loadEnvFile", "abort", "_debugProcess",
    "openStdin", "setSourceMapsEnabled", "_kill"]) {
    try { if (key in proc) proc[key] = denied("process." + key); } catch {}
  }
  try { if (proc.report) proc.report.writeReport = denied("process.report"); } catch {}
  const processStub = Object.freeze({
    platform: "linux",
    version: proc.version,
    versions: Object.freeze({ node: proc.versions.node }),
    argv: Object.freeze([]),
    env: Object.freeze({}),
    stdin: Object.freeze({ fd: -1 }),
    getuid: () => 0,
    umask: () => 0o22,
    get exitCode() { return undefined; },
    set exitCode(value) {},
  });
  Object.defineProperty(globalThis, "process", { value: processStub, writable: false, configurable: false });
}
`;

export const PYTHON_WORKER_SOURCE: string = String.raw`
import fs from "node:fs";
import os from "node:os";
import net from "node:net";
import tls from "node:tls";
import dgram from "node:dgram";
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import http2 from "node:http2";
import { pathToFileURL } from "node:url";

${HARDEN_REALM_SOURCE}

const proc = process;
const config = JSON.parse(proc.argv[proc.argv.length - 1]);
proc.argv.splice(1); // Emscripten takes argv[1] as the program path, which Python's getpath must be able to parse
const send = proc.send.bind(proc);
const exit = proc.exit.bind(proc);
const started = performance.now();

proc.on("disconnect", () => exit(0));

// --- 3. memory cap on every WebAssembly memory in this process ---------------------------------
let memoryLimit = Infinity;
let memoryExceeded = false;
const realGrow = WebAssembly.Memory.prototype.grow;
Object.defineProperty(WebAssembly.Memory.prototype, "grow", {
  value: function grow(deltaPages) {
    if (this.buffer.byteLength + deltaPages * 65536 > memoryLimit) {
      memoryExceeded = true;
      throw new RangeError("memory limit exceeded");
    }
    return realGrow.call(this, deltaPages);
  },
  writable: false,
  configurable: false,
});

// --- load Pyodide ------------------------------------------------------------------------------
// Emscripten's NODEFS reads fs constants through process.binding, which the permission model
// forbids; hand it just those constants while Pyodide loads.
const realBinding = proc.binding;
proc.binding = (name) => {
  if (name === "constants") return { fs: fs.constants, os: os.constants };
  return realBinding.call(proc, name);
};
const { loadPyodide } = await import(pathToFileURL(config.pyodideDir + "/pyodide.mjs").href);
const discard = { batched: () => {} };
const pyodide = await loadPyodide({
  indexURL: config.pyodideDir + "/",
  stdin: () => null,
  stdout: () => {},
  stderr: () => {},
  env: { HOME: "/home/pyodide" },
});
proc.binding = realBinding;
pyodide.setStdout(discard);
pyodide.setStderr(discard);

const namespace = pyodide.toPy({});
pyodide.runPython(config.prelude, { globals: namespace });
const run = namespace.get("run");
const install = namespace.get("install");
run("def main():\n    return {}\n", "{}"); // warm the runner's own imports before the fence
const bridgeTypes = JSON.parse(install());
install.destroy();
neuterTypes(pyodide._module, bridgeTypes);
namespace.destroy();

// Points tp_new of each listed type at NoneType's (which returns None), so the bridge's C types can
// no longer be instantiated from Python. The PyTypeObject layout is located, not assumed: tp_flags
// is the word equal to __flags__ that is followed, 11 words on, by tp_base == id(__base__), with
// tp_weaklistoffset (+5) and tp_dictoffset (+15) agreeing too; tp_new is 18 words after tp_flags.
function neuterTypes(module, info) {
  const heap = () => module.HEAPU32;
  const flagsOffset = (entry) => {
    const [addr, flags, base, weaklist, dict] = entry;
    for (let offset = 8; offset < 160; offset += 4) {
      const at = (addr + offset) >>> 2;
      const h = heap();
      if (h[at] === flags >>> 0 && h[at + 11] === base >>> 0 && h[at + 5] === weaklist >>> 0 && h[at + 15] === dict >>> 0) return offset;
    }
    throw new Error("cannot locate tp_flags of type at " + addr);
  };
  const offset = flagsOffset(info.none);
  const newSlot = (addr) => ((addr + offset) >>> 2) + 18;
  const noneNew = heap()[newSlot(info.none[0])];
  if (!noneNew) throw new Error("NoneType has no tp_new");
  for (const entry of info.types) {
    if (flagsOffset(entry) !== offset) throw new Error("unexpected type layout at " + entry[0]);
    heap()[newSlot(entry[0])] = noneNew;
  }
}

// --- 2. the JS realm ---------------------------------------------------------------------------
hardenRealm(proc, { net, tls, dgram, dns, http, https, http2 });

// --- 5. the snapshot ---------------------------------------------------------------------------
const wasm = pyodide._module;
run("def main():\n    return {}\n", "{}"); // and once more behind the fence
const snapshot = wasm.HEAPU8.slice();
// Memory above the snapshot was handed out by sbrk during the run and must read as zero again
// (fresh sbrk memory is assumed zeroed). Emscripten's dlmalloc never trims, so the break after a
// run is its high-water mark and nothing above it was written.
const restore = () => {
  const brk = wasm._sbrk(0) >>> 0;
  const heap = wasm.HEAPU8;
  heap.set(snapshot);
  const dirtyEnd = Math.min(heap.length, Math.max(brk, snapshot.length));
  if (dirtyEnd > snapshot.length) heap.fill(0, snapshot.length, dirtyEnd);
};

send({ type: "ready", coldStartMs: performance.now() - started, memoryBytes: wasm.HEAPU8.length });

proc.on("message", (message) => {
  if (!message || message.type !== "run") return;
  memoryLimit = message.memoryLimitBytes;
  memoryExceeded = false;
  let reply;
  try {
    let envelope = run(String(message.code), String(message.inputs));
    if (envelope.length > config.maxOutputBytes) envelope = '{"status":"error","kind":"too_large"}';
    reply = { type: "result", id: message.id, envelope, memoryExceeded, memoryBytes: wasm.HEAPU8.length };
  } catch (error) {
    // The interpreter itself failed (a fatal Pyodide error). This process is done for.
    send({ type: "result", id: message.id, fatal: String(error && error.message || error).slice(0, 2000), memoryExceeded });
    exit(1);
    return;
  }
  send(reply);
  try {
    restore();
  } catch (error) {
    exit(1);
  }
});
`;
