import { afterAll, describe, expect, it } from "vitest";
import { AppError } from "../../../src/core/errors.js";
import { createCodeSandbox } from "../../../src/providers/sandbox/index.js";

const sandbox = createCodeSandbox();
afterAll(() => sandbox.close());

const js = (code: string, inputs: Record<string, unknown> = {}, extra: { timeoutMs?: number; memoryMb?: number } = {}) =>
  sandbox.run({ language: "javascript", code, inputs, ...extra });

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

describe("javascript sandbox: Dify-style mains", () => {
  it("concatenates strings from its object argument", async () => {
    expect(await js("function main({arg1, arg2}) {\n  return { result: arg1 + arg2 }\n}", { arg1: "foo", arg2: "bar" })).toEqual({
      result: "foobar",
    });
  });

  it("handles numbers, lists, nested objects and JSON parsing", async () => {
    const code = `function main({ items, text, n }) {
  const parsed = JSON.parse(text);
  return {
    total: items.reduce((a, b) => a + b, 0) * n,
    doubled: items.map((x) => x * 2),
    first: parsed.results[0].href,
    nested: { count: parsed.results.length, ok: true, none: null },
  };
}`;
    const out = await js(code, { items: [1, 2, 3.5], n: 2, text: JSON.stringify({ results: [{ href: "https://a" }, { href: "https://b" }] }) });
    expect(out).toEqual({ total: 13, doubled: [2, 4, 7], first: "https://a", nested: { count: 2, ok: true, none: null } });
  });

  it("splits text into a list, as the corpus's question splitter does", async () => {
    expect(await js("function main({arg1}) { return { result: arg1.split('\\n') } }", { arg1: "a\nb\nc" })).toEqual({ result: ["a", "b", "c"] });
  });

  it("accepts arrow mains declared with const, and async mains", async () => {
    expect(await js("const main = ({ x }) => ({ y: x * 10 });", { x: 4 })).toEqual({ y: 40 });
    expect(await js("async function main({ x }) { const v = await Promise.resolve(x); return { v } }", { x: "ok" })).toEqual({ v: "ok" });
  });

  it("gets a fresh context each run", async () => {
    await js("globalThis.leak = 42; function main() { return {} }");
    expect(await js("function main() { return { leak: typeof leak } }")).toEqual({ leak: "undefined" });
  });
});

describe("javascript sandbox: errors", () => {
  it("surfaces the user's exception message", async () => {
    expect((await failure(js("function main() { throw new TypeError('bad input: 42') }"))).message).toBe("TypeError: bad input: 42");
    expect((await failure(js("async function main() { throw new Error('async boom') }"))).message).toBe("Error: async boom");
    expect((await failure(js("function main() { return undefinedThing.x }"))).message).toMatch(/ReferenceError: .*undefinedThing/);
  });

  it("reports a syntax error", async () => {
    expect((await failure(js("function main( {"))).message).toMatch(/^SyntaxError/);
  });

  it("requires a main function", async () => {
    expect((await failure(js("function notMain() { return {} }"))).message).toMatch(/no main function/);
  });

  it("requires main to return an object", async () => {
    expect((await failure(js("function main() { return [1, 2] }"))).message).toBe("main must return an object, got array");
    expect((await failure(js("function main() { return null }"))).message).toBe("main must return an object, got null");
    expect((await failure(js("function main() { return 'text' }"))).message).toBe("main must return an object, got string");
  });
});

describe("javascript sandbox: escapes refused", () => {
  it("has no require, process, fetch, module loader or host globals", async () => {
    const out = await js(`function main() {
  return {
    require: typeof require, process: typeof process, fetch: typeof globalThis.fetch, buffer: typeof Buffer,
    viaFunction: Function("return typeof process + typeof require + typeof fetch")(),
    viaEval: (0, eval)("typeof globalThis.process"),
    viaConstructor: (() => {}).constructor.constructor("return typeof this.process")(),
  };
}`);
    expect(out).toEqual({
      require: "undefined",
      process: "undefined",
      fetch: "undefined",
      buffer: "undefined",
      viaFunction: "undefinedundefinedundefined",
      viaEval: "undefined",
      viaConstructor: "undefined",
    });
  });

  it("cannot import modules", async () => {
    expect((await failure(js("async function main() { const fs = await import('node:fs'); return { x: typeof fs } }"))).message).toMatch(
      /could not load module/,
    );
    expect((await failure(js("import fs from 'fs'; function main() { return {} }"))).message).toMatch(/could not load module/);
  });

  it("stops an infinite loop at the deadline, and the next run works", async () => {
    const started = Date.now();
    expect((await failure(js("function main() { while (true) {} }", {}, { timeoutMs: 300 }))).message).toBe(
      "code execution timed out after 300 ms",
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await js("function main() { return { ok: 1 } }")).toEqual({ ok: 1 });
  });

  it("refuses a huge allocation with a memory error, and the next run works", async () => {
    expect((await failure(js("function main() { const a = new Array(1e9).fill(0); return { n: a.length } }", {}, { memoryMb: 64 }))).message).toBe(
      "memory limit exceeded",
    );
    expect((await failure(js("function main() { const a = []; for (;;) a.push({ x: 'y'.repeat(100) }) }", {}, { memoryMb: 32 }))).message).toBe(
      "memory limit exceeded",
    );
    expect(await js("function main() { return { ok: 2 } }")).toEqual({ ok: 2 });
  });

  it("turns runaway recursion into an error, and the next run works", async () => {
    expect((await failure(js("function main() { const f = (n) => f(n + 1) + 1; return { r: f(0) } }"))).message).toMatch(/stack overflow/i);
    expect(await js("function main() { return { ok: 3 } }")).toEqual({ ok: 3 });
  });
});
