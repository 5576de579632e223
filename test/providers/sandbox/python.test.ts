import { spawnSync } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AppError } from "../../../src/core/errors.js";
import { createCodeSandbox } from "../../../src/providers/sandbox/index.js";
import { workerNodeFlags } from "../../../src/providers/sandbox/python.js";
import { HARDEN_REALM_SOURCE } from "../../../src/providers/sandbox/python-worker-source.js";

// One sandbox (one warm worker) for the whole file; the first run pays the cold start.
const sandbox = createCodeSandbox();
afterAll(() => sandbox.close());

const py = (code: string, inputs: Record<string, unknown> = {}, extra: { timeoutMs?: number; memoryMb?: number } = {}) =>
  sandbox.run({ language: "python3", code, inputs, ...extra });

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(AppError);
  const appError = error as AppError;
  expect(appError.code).toBe("code_execution_error");
  expect(appError.status).toBe(400);
  return appError;
}

beforeAll(async () => {
  const started = performance.now();
  expect(await py("def main() -> dict:\n    return {'result': 'warm'}")).toEqual({ result: "warm" });
  const firstRunMs = performance.now() - started;
  console.log(
    `python sandbox cold start: worker ready after ${sandbox.pythonStats.coldStartsMs[0]?.toFixed(0)} ms; first run returned after ${firstRunMs.toFixed(0)} ms`,
  );
});

describe("python sandbox: Dify-style mains (from the DSL corpus)", () => {
  it("runs mains without arguments", async () => {
    expect(await py('\ndef main():\n    return {\n        "result": [1],\n    }\n')).toEqual({ result: [1] });
    expect(await py('\ndef main() -> dict:\n    return {\n        "result": "Code 1",\n    }\n')).toEqual({ result: "Code 1" });
  });

  it("splits a string argument into a list", async () => {
    const code = "\ndef main(arg1: str) -> dict:\n    questions = arg1.split('\\n')\n    return {\n        \"result\": questions,\n    }\n";
    expect(await py(code, { arg1: "What?\nWhy?\nHow?" })).toEqual({ result: ["What?", "Why?", "How?"] });
  });

  it("reads fields of a list of dicts", async () => {
    const code =
      "\ndef main(search_results) -> dict:\n    return {\n        \"url\": search_results[0].get('href'),\n        \"title\" : search_results[0].get('title'),\n    }";
    expect(await py(code, { search_results: [{ href: "https://dify.ai", title: "Dify" }, { href: "x" }] })).toEqual({
      url: "https://dify.ai",
      title: "Dify",
    });
  });

  it("slices text", async () => {
    const code =
      '\ndef main(crawl_result) -> str:\n    idx = crawl_result.find("TEXT:\\n\\n")\n    start_idx = idx + len("TEXT:\\n\\n")\n    return {\n        "result" : crawl_result[start_idx:8192]\n    }\n';
    expect(await py(code, { crawl_result: "TITLE: x\nTEXT:\n\nthe body" })).toEqual({ result: "the body" });
  });

  it("takes a dict argument, numbers and nested values", async () => {
    expect(await py('\ndef main(item: dict) -> dict:\n    return {\n        "section":  item["section"]\n    }\n', { item: { section: "intro" } })).toEqual({
      section: "intro",
    });
    const code = "def main(a: int, b: float, flags: list) -> dict:\n    return {'sum': a + b, 'product': a * 3, 'all': all(flags), 'nested': {'k': [None, True, 1.5]}}";
    expect(await py(code, { a: 2, b: 0.5, flags: [true, true] })).toEqual({ sum: 2.5, product: 6, all: true, nested: { k: [null, true, 1.5] } });
  });

  it("parses and produces JSON with the stdlib", async () => {
    const code =
      "import json\nimport re\n\ndef main(llm_string: str) -> dict:\n    data = json.loads(re.sub(r'^```json|```$', '', llm_string.strip()))\n    return {'result': json.dumps(data, ensure_ascii=False), 'keys': sorted(data)}";
    expect(await py(code, { llm_string: '```json{"b": 1, "a": "é"}```' })).toEqual({ result: '{"b": 1, "a": "é"}', keys: ["a", "b"] });
  });

  it("has the common stdlib modules", async () => {
    const code = `import datetime, decimal, hashlib, base64, uuid, statistics, collections, math
def main():
    return {
        'date': datetime.date(2024, 2, 29).isoformat(),
        'dec': str(decimal.Decimal('1.10') * 3),
        'sha': hashlib.sha256(b'x').hexdigest()[:8],
        'b64': base64.b64encode('hi'.encode()).decode(),
        'uuid': len(str(uuid.uuid4())),
        'mean': statistics.mean([1, 2, 3, 4]),
        'count': collections.Counter('abca').most_common(1)[0][0],
        'pi': round(math.pi, 3),
    }`;
    expect(await py(code)).toEqual({ date: "2024-02-29", dec: "3.30", sha: "2d711642", b64: "aGk=", uuid: 36, mean: 2.5, count: "a", pi: 3.142 });
  });
});

describe("python sandbox: errors", () => {
  it("surfaces the user's exception as the traceback's last line", async () => {
    expect((await failure(py("def main(x):\n    raise ValueError(f'bad value: {x}')", { x: 3 }))).message).toBe("ValueError: bad value: 3");
    expect((await failure(py("def main(d):\n    return {'v': d['missing']}", { d: {} }))).message).toBe("KeyError: 'missing'");
    expect((await failure(py("import json\ndef main():\n    return json.loads('{nope')"))).message).toMatch(/^json\.decoder\.JSONDecodeError: Expecting property name/);
  });

  it("reports syntax errors with the line", async () => {
    expect((await failure(py("def main():\n    return {'a': }\n"))).message).toMatch(/^SyntaxError: .*\(line 2\)$/);
  });

  it("reports inputs main does not accept", async () => {
    expect((await failure(py("def main(a):\n    return {}", { a: 1, b: 2 }))).message).toMatch(/TypeError: main\(\) got an unexpected keyword argument 'b'/);
  });

  it("requires a main function", async () => {
    expect((await failure(py("def helper():\n    return {}"))).message).toMatch(/no main function/);
    expect((await failure(py("main = 3"))).message).toMatch(/no main function/);
  });

  it("requires main to return a dict of JSON values", async () => {
    expect((await failure(py("def main():\n    return [1, 2]"))).message).toBe("main must return a dict, got list");
    expect((await failure(py("def main():\n    return 'x'"))).message).toBe("main must return a dict, got str");
    expect((await failure(py("def main():\n    return {'s': {1, 2}}"))).message).toMatch(/JSON-serialisable.*set/);
    expect((await failure(py("def main():\n    return {'n': float('nan')}"))).message).toMatch(/JSON-serialisable/);
  });

  it("turns exit() and infinite recursion into errors", async () => {
    expect((await failure(py("import sys\ndef main():\n    sys.exit(2)"))).message).toBe("SystemExit: 2");
    expect((await failure(py("def f(n):\n    return f(n + 1)\ndef main():\n    return {'r': f(0)}"))).message).toMatch(/^RecursionError/);
  });
});

describe("python sandbox: escapes refused", () => {
  it("refuses the host file system", async () => {
    expect((await failure(py("import os\ndef main():\n    return {'r': os.listdir('/')}"))).message).toMatch(/PermissionError: file access is not allowed/);
    expect((await failure(py("def main():\n    return {'r': open('/etc/passwd').read()}"))).message).toMatch(/PermissionError: file access is not allowed/);
    expect((await failure(py("def main():\n    open('/tmp/x', 'w').write('x')\n    return {}"))).message).toMatch(/PermissionError/);
    expect((await failure(py("import pathlib\ndef main():\n    return {'r': pathlib.Path('/lib/../etc/passwd').read_text()}"))).message).toMatch(
      /PermissionError/,
    );
  });

  it("refuses processes", async () => {
    expect((await failure(py("import subprocess\ndef main():\n    return {}"))).message).toMatch(/ModuleNotFoundError: module 'subprocess' is not available/);
    expect((await failure(py("import os\ndef main():\n    return {'r': os.system('id')}"))).message).toMatch(/os.system is not allowed/);
    // asyncio still holds the (emptied) subprocess module: unusable.
    expect((await failure(py("import asyncio.base_events as b\ndef main():\n    b.subprocess.Popen(['id'])"))).message).toMatch(
      /PermissionError|AttributeError/,
    );
  });

  it("refuses the network: nothing reaches a local listener", async () => {
    const peers: number[] = [];
    const server = net.createServer((socket) => {
      peers.push(socket.remotePort!);
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const attempts = [
        "import socket\ndef main(port):\n    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n    s.connect(('127.0.0.1', port))\n    return {}",
        "import socket\ndef main(port):\n    socket.create_connection(('127.0.0.1', port))\n    return {}",
        "import urllib.request\ndef main(port):\n    return {'r': urllib.request.urlopen(f'http://127.0.0.1:{port}/').read().decode()}",
        "import http.client\ndef main(port):\n    c = http.client.HTTPConnection('127.0.0.1', port)\n    c.request('GET', '/')\n    return {}",
        "import asyncio.base_events as b\ndef main(port):\n    b.socket.socket().connect(('127.0.0.1', port))\n    return {}",
        "import js\ndef main(port):\n    js.fetch(f'http://127.0.0.1:{port}/')\n    return {}",
      ];
      for (const code of attempts) {
        const error = await failure(py(code, { port }));
        expect(error.message).toMatch(/PermissionError|ModuleNotFoundError/);
      }
      // A connection of our own, queued behind anything the finished attempts opened: once the
      // server has accepted it, it has accepted all of those.
      const probe = net.connect(port, "127.0.0.1");
      await once(probe, "connect");
      const probePort = probe.localPort!;
      await vi.waitUntil(() => peers.includes(probePort), { timeout: 5_000, interval: 10 });
      probe.destroy();
      expect(peers).toEqual([probePort]);
    } finally {
      server.close();
    }
  });

  it("refuses Pyodide's JS bridge", async () => {
    const cases: Array<[string, RegExp]> = [
      ["import js\ndef main():\n    return {'r': str(js.process)}", /module 'js' is not available/],
      ["from pyodide.ffi import to_js\ndef main():\n    return {}", /module 'pyodide\.ffi' is not available/],
      ["import pyodide_js\ndef main():\n    return {}", /module 'pyodide_js' is not available/],
      ["from pyodide.http import pyfetch\ndef main():\n    return {}", /is not available/],
      ["import micropip\ndef main():\n    return {}", /module 'micropip' is not available/],
      ["import _pyodide_core\ndef main():\n    return {}", /module '_pyodide_core' is not available/],
      // The ways around the import statement.
      ["import importlib, sys\ndef main():\n    sys.meta_path[:] = [f for f in sys.meta_path if 'Blocking' not in repr(f)]\n    importlib.import_module('_pyodide_core')", /is not available/],
      ["import _imp, types\ndef main():\n    _imp.create_builtin(types.SimpleNamespace(name='_pyodide_core'))", /is not available/],
      ["import importlib, sys\ndef main():\n    sys.meta_path.pop(0)\n    importlib.import_module('pyodide')", /is not available/],
      ["import sys\ndef main():\n    sys.meta_path.pop(0)\n    import ctypes", /module 'ctypes' is not available/],
      ["import gc\ndef main():\n    return {'n': len(gc.get_objects())}", /gc.get_objects is not allowed/],
      ["def main():\n    f = lambda: 1\n    f.__code__.replace(co_code=b'')", /code.__new__ is not allowed/],
    ];
    for (const [code, message] of cases) expect((await failure(py(code))).message).toMatch(message);
  });

  it("leaves no object of the bridge reachable, and none of its types constructible", async () => {
    // Walks everything reachable from sys.modules and the class tree, as an attacker would.
    const code = `import sys
def main():
    hits, seen, todo, n = [], set(), [], 0
    todo += [(m, 'sys.modules') for m in list(sys.modules.values())]
    todo += [(c, 'subclass') for c in object.__subclasses__()]
    while todo and n < 300000:
        o, path = todo.pop()
        n += 1
        if id(o) in seen:
            continue
        seen.add(id(o))
        t = type(o)
        if not isinstance(o, type) and str(getattr(t, '__module__', '')).startswith(('pyodide', '_pyodide')) or t.__name__ in ('JsFuncSignature', 'Py2JsConverter', 'Js2PyConverter', 'JsMethodCallSingleton'):
            hits.append(path + ' :: ' + t.__name__)
            continue
        try:
            if isinstance(o, dict):
                todo += [(v, path) for v in list(o.values())]
            elif isinstance(o, (list, tuple, set, frozenset)):
                todo += [(v, path) for v in list(o)]
            elif isinstance(o, type):
                todo += [(v, path + '.' + o.__name__) for v in list(vars(o).values())] + [(b, path) for b in o.__mro__]
            else:
                d = getattr(o, '__dict__', None)
                if isinstance(d, dict):
                    todo.append((d, path))
                for a in ('__func__', '__self__', '__wrapped__', 'fget', '__closure__', 'cell_contents', '__defaults__', '__kwdefaults__', '__globals__'):
                    try:
                        todo.append((object.__getattribute__(o, a), path))
                    except Exception:
                        pass
        except Exception:
            pass
    made = []
    def walk(c):
        for s in type.__subclasses__(c):
            yield s
            yield from walk(s)
    for c in walk(object):
        if str(c.__module__).startswith(('pyodide', '_pyodide')) or c.__name__ in ('JsFuncSignature', 'Py2JsConverter', 'Js2PyConverter', 'JsMethodCallSingleton'):
            for args in ((), ({},), ([1],), ('x',)):
                try:
                    o = c(*args)
                    if o is not None:
                        made.append(c.__name__)
                except Exception:
                    pass
    return {'visited': n, 'hits': hits, 'made': made}`;
    const out = await py(code, {}, { timeoutMs: 30_000 });
    expect(out.visited as number).toBeGreaterThan(10_000);
    expect(out.hits).toEqual([]);
    expect(out.made).toEqual([]);
  });

  it("keeps its audit hook even when builtins are tampered with, and refuses new hooks", async () => {
    const code = `import builtins
_repr = repr
def main():
    builtins.type = lambda x: str
    builtins.PermissionError = KeyError
    try:
        open('/tmp/x', 'w')
        return {'r': 'wrote'}
    except BaseException as e:
        return {'r': _repr(e)}`;
    expect(await py(code)).toEqual({ r: expect.stringContaining("PermissionError") });
    const hook = "import sys\nseen = []\ndef main():\n    sys.addaudithook(lambda ev, args: seen.append(ev))\n    import colorsys\n    return {'seen': len(seen)}";
    expect(await py(hook)).toEqual({ seen: 0 });
  });

  it("starts every run from the same clean interpreter", async () => {
    await py("import builtins, json, sys\nbuiltins.len = None\njson.dumps = None\nsys.modules['planted'] = 1\nSECRET = 'x'\ndef main():\n    return {}");
    const out = await py("import json, sys\ndef main():\n    return {'len': len('abc'), 'dumps': json.dumps([1]), 'planted': 'planted' in sys.modules}");
    expect(out).toEqual({ len: 3, dumps: "[1]", planted: false });
    const a = await py("import random\ndef main():\n    return {'r': random.random()}");
    const b = await py("import random\ndef main():\n    return {'r': random.random()}");
    expect(a.r).not.toBe(b.r);
  });

  it("stops an infinite loop by killing the worker, and the next run works", async () => {
    const killedBefore = sandbox.pythonStats.workersKilled;
    const started = performance.now();
    expect((await failure(py("def main():\n    while True:\n        pass", {}, { timeoutMs: 500 }))).message).toBe("code execution timed out after 500 ms");
    expect(performance.now() - started).toBeLessThan(1500);
    expect(await py("def main(x):\n    return {'x': x}", { x: "again" })).toEqual({ x: "again" });
    expect(sandbox.pythonStats.workersKilled).toBe(killedBefore + 1);
  });

  it("refuses huge allocations with a memory error, and the next run works", async () => {
    const killedBefore = sandbox.pythonStats.workersKilled;
    for (const code of [
      "def main():\n    x = 'a' * (2**31 - 100)\n    return {}",
      "def main():\n    x = [0] * 10**9\n    return {}",
      "def main():\n    x = bytearray(10**9)\n    return {}",
      "def main():\n    x = []\n    while True:\n        x.append('a' * 10**6)",
    ]) {
      expect((await failure(py(code, {}, { memoryMb: 128 }))).message).toBe("memory limit exceeded");
    }
    // On wasm32 this one overflows the index type before it allocates: refused all the same.
    expect((await failure(py("def main():\n    x = 'a' * 10**10\n    return {}"))).message).toMatch(/OverflowError|memory limit exceeded/);
    expect(await py("def main():\n    return {'ok': sum(range(1000))}", {}, { memoryMb: 128 })).toEqual({ ok: 499500 });
    expect(sandbox.pythonStats.workersKilled).toBe(killedBefore);
  });

  it("runs the worker under the permission model and with the network-capable JS removed", () => {
    // The outer layers, checked in a node process started with the worker's own flags.
    const script = `import fs from "node:fs"; import cp from "node:child_process"; import net from "node:net"; import tls from "node:tls";
import dgram from "node:dgram"; import dns from "node:dns"; import http from "node:http"; import https from "node:https"; import http2 from "node:http2";
${HARDEN_REALM_SOURCE}
const attempt = (f) => { try { f(); return "allowed"; } catch (e) { return e.code || e.name; } };
const proc = process;
const results = {
  readEtc: attempt(() => fs.readFileSync("/etc/hostname")),
  write: attempt(() => fs.writeFileSync("/tmp/sandbox-probe", "x")),
  spawn: attempt(() => cp.spawnSync("true")),
  evalString: attempt(() => eval("1")),
  newFunction: attempt(() => new Function("return 1")),
};
hardenRealm(proc, { net, tls, dgram, dns, http, https, http2 });
Object.assign(results, {
  fetch: typeof globalThis.fetch, require: typeof globalThis.require, processKill: typeof globalThis.process.kill,
  env: Object.keys(globalThis.process.env).length,
  connect: attempt(() => net.connect(1, "127.0.0.1")),
  kill: attempt(() => proc.kill(proc.pid, 0)),
  builtin: attempt(() => proc.getBuiltinModule("node:net")),
  udp: attempt(() => dgram.createSocket("udp4")),
  lookup: attempt(() => dns.lookup("localhost", () => {})),
});
proc.stdout.write(JSON.stringify(results));`;
    const result = spawnSync(process.execPath, [...workerNodeFlags(), "--input-type=module", "-e", script], { env: {}, encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({
      readEtc: "ERR_ACCESS_DENIED",
      write: "ERR_ACCESS_DENIED",
      spawn: "ERR_ACCESS_DENIED",
      evalString: "EvalError",
      newFunction: "EvalError",
      fetch: "undefined",
      require: "undefined",
      processKill: "undefined",
      env: 0,
      connect: "ERR_ACCESS_DENIED",
      kill: "ERR_ACCESS_DENIED",
      builtin: "ERR_ACCESS_DENIED",
      udp: "ERR_ACCESS_DENIED",
      lookup: "ERR_ACCESS_DENIED",
    });
  });
});

describe("python sandbox: pool", () => {
  it("queues concurrent runs on the warm worker", async () => {
    const runs = Array.from({ length: 8 }, (_, i) => py("def main(i):\n    return {'i': i * i}", { i }));
    expect(await Promise.all(runs)).toEqual(Array.from({ length: 8 }, (_, i) => ({ i: i * i })));
  });

  it("answers a warm call in about a millisecond", async () => {
    const code = "def main(arg1: str, arg2: str) -> dict:\n    return {'result': arg1 + arg2}";
    for (let i = 0; i < 5; i++) await py(code, { arg1: "a", arg2: "b" });
    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      await py(code, { arg1: "a", arg2: String(i) });
      times.push(performance.now() - started);
    }
    // Calls that find the worker idle (after its between-runs memory reset, ~1.5 ms, is done).
    const idle: number[] = [];
    for (let i = 0; i < 30; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5)); // the spacing is what this measures
      const started = performance.now();
      await py(code, { arg1: "a", arg2: String(i) });
      idle.push(performance.now() - started);
    }
    const stats = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return { median: sorted[Math.floor(sorted.length / 2)], p90: sorted[Math.floor(sorted.length * 0.9)], min: sorted[0] };
    };
    const b2b = stats(times);
    const spaced = stats(idle);
    const fmt = (s: { median: number; p90: number; min: number }) => `median ${s.median.toFixed(2)} ms, p90 ${s.p90.toFixed(2)} ms, min ${s.min.toFixed(2)} ms`;
    console.log(`python sandbox warm call latency: idle worker ${fmt(spaced)} (30 calls); back-to-back ${fmt(b2b)} (50 calls)`);
    expect(spaced.median).toBeLessThan(50);
    expect(b2b.median).toBeLessThan(50);
  });

  it("refuses runs after close", async () => {
    const other = createCodeSandbox();
    await other.close();
    expect((await failure(other.run({ language: "python3", code: "def main():\n    return {}", inputs: {} }))).message).toMatch(/closed/);
  });
});
