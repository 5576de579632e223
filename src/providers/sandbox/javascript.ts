// JavaScript code nodes run in QuickJS compiled to WebAssembly (quickjs-emscripten). Each run gets a
// fresh runtime and context: a memory limit on the runtime, an interrupt handler for the deadline,
// and nothing from the host but the inputs as JSON text. QuickJS has no require/process/fetch/fs
// and no module loader is installed, so `import()` rejects.

import { newQuickJSWASMModuleFromVariant, type QuickJSContext, type QuickJSHandle, type QuickJSWASMModule } from "quickjs-emscripten-core";
import {
  MEMORY_MESSAGE,
  NO_MAIN_MESSAGE,
  codeExecutionError,
  inputsToJson,
  parseOutput,
  timeoutMessage,
} from "./errors.js";

/**
 * Stack QuickJS may use before it throws "InternalError: stack overflow". QuickJS measures its C
 * stack, but each of its frames also takes host (V8) stack for the wasm frames; 256 KiB keeps deep
 * recursion (~1,300 plain JS frames) inside the host's ~1 MB stack. 512 KiB did not.
 */
const MAX_STACK_BYTES = 256 * 1024;
const MAIN_REF = "__appgraph_main__";

// Installed before the user's code, so its helpers keep the original JSON / Array.isArray even if
// the user's code replaces the globals (which would only spoil its own run anyway).
const DRIVER = `(() => {
  const parse = JSON.parse, stringify = JSON.stringify, isArray = Array.isArray;
  const define = (name, value) => Object.defineProperty(globalThis, name, { value, writable: false, enumerable: false, configurable: false });
  define("__appgraph_call__", (inputsJson) => {
    const main = globalThis.${MAIN_REF};
    if (typeof main !== "function") return { kind: "no_main" };
    return { kind: "called", value: main(parse(inputsJson)) };
  });
  define("__appgraph_finish__", (value) => {
    if (value === null || typeof value !== "object" || isArray(value)) {
      return stringify({ kind: "not_object", type: value === null ? "null" : isArray(value) ? "array" : typeof value });
    }
    const json = stringify(value);
    return json === undefined ? stringify({ kind: "not_object", type: typeof value }) : "{\\"kind\\":\\"ok\\",\\"json\\":" + stringify(json) + "}";
  });
})();`;

let modulePromise: Promise<QuickJSWASMModule> | undefined;
function quickjs(): Promise<QuickJSWASMModule> {
  modulePromise ??= newQuickJSWASMModuleFromVariant(import("@jitl/quickjs-wasmfile-release-sync")).catch((err: unknown) => {
    modulePromise = undefined;
    throw err;
  });
  return modulePromise;
}

export interface JsRunRequest {
  code: string;
  inputs: Record<string, unknown>;
  timeoutMs: number;
  memoryMb: number;
}

export async function runJavascript(request: JsRunRequest): Promise<Record<string, unknown>> {
  const inputsJson = inputsToJson(request.inputs);
  const current = quickjs();
  const module = await current;
  let broken = false;
  const runtime = module.newRuntime();
  const deadline = Date.now() + request.timeoutMs;
  let interrupted = false;
  runtime.setMemoryLimit(request.memoryMb * 1024 * 1024);
  runtime.setMaxStackSize(MAX_STACK_BYTES);
  runtime.setInterruptHandler(() => {
    if (Date.now() > deadline) interrupted = true;
    return interrupted;
  });
  let vm: QuickJSContext | undefined;
  try {
    vm = runtime.newContext();
    const failure = (handle: QuickJSHandle): Error => errorFromVm(vm!, handle, interrupted, request.timeoutMs);

    const driver = vm.evalCode(DRIVER, "driver.js");
    if (driver.error) throw failure(driver.error);
    driver.value.dispose();

    // Same script as the user's code, so `const main = ...` is found as well as `function main`.
    const user = vm.evalCode(
      `${request.code}\n;globalThis.${MAIN_REF} = typeof main === "function" ? main : undefined;`,
      "main.js",
    );
    if (user.error) throw failure(user.error);
    user.value.dispose();

    const call = vm.getProp(vm.global, "__appgraph_call__");
    const input = vm.newString(inputsJson);
    const called = vm.callFunction(call, vm.undefined, input);
    call.dispose();
    input.dispose();
    if (called.error) throw failure(called.error);
    const kindHandle = vm.getProp(called.value, "kind");
    const kind = vm.getString(kindHandle);
    kindHandle.dispose();
    if (kind === "no_main") {
      called.value.dispose();
      throw codeExecutionError(NO_MAIN_MESSAGE);
    }
    let value = vm.getProp(called.value, "value");
    called.value.dispose();

    // An async main: run the job queue (still under the interrupt handler) until it settles.
    if (vm.typeof(value) === "object" && isPromise(vm, value)) {
      for (;;) {
        const jobs = runtime.executePendingJobs();
        if (jobs.error) {
          value.dispose();
          throw failure(jobs.error);
        }
        if (jobs.value === 0) break;
      }
      const state = vm.getPromiseState(value);
      value.dispose();
      if (state.type === "pending") throw codeExecutionError("main returned a promise that never settled");
      if (state.type === "rejected") throw failure(state.error);
      value = state.value;
    }

    const finish = vm.getProp(vm.global, "__appgraph_finish__");
    const finished = vm.callFunction(finish, vm.undefined, value);
    finish.dispose();
    value.dispose();
    if (finished.error) throw failure(finished.error);
    const envelope = JSON.parse(vm.getString(finished.value)) as { kind: string; type?: string; json?: string };
    finished.value.dispose();
    if (envelope.kind !== "ok") throw codeExecutionError(`main must return an object, got ${envelope.type}`);
    return parseOutput(envelope.json!, "an object");
  } catch (err) {
    if (err instanceof Error && err.name === "AppError") throw err;
    // The wasm engine itself trapped (host stack exhausted, an abort): its state is suspect, so the
    // next run gets a freshly instantiated module.
    broken = true;
    if (interrupted) throw codeExecutionError(timeoutMessage(request.timeoutMs));
    const message = (err as Error)?.message ?? String(err);
    if (err instanceof RangeError && /call stack/i.test(message)) throw codeExecutionError("InternalError: stack overflow");
    throw codeExecutionError(isOutOfMemory(err) ? MEMORY_MESSAGE : `javascript sandbox failure: ${message}`);
  } finally {
    try {
      vm?.dispose();
      runtime.dispose();
    } catch {
      // A runtime that failed mid-run may not tear down cleanly (QuickJS asserts on leaked objects).
      broken = true;
    }
    if (broken && modulePromise === current) modulePromise = undefined;
  }
}

function isPromise(vm: QuickJSContext, handle: QuickJSHandle): boolean {
  const state = vm.getPromiseState(handle);
  if (state.type === "fulfilled" && state.notAPromise) return false;
  if (state.type === "fulfilled") state.value.dispose();
  if (state.type === "rejected") state.error.dispose();
  return true;
}

function isOutOfMemory(err: unknown): boolean {
  return /out of memory|memory limit|allocation failed/i.test(String((err as Error)?.message ?? err));
}

function errorFromVm(vm: QuickJSContext, handle: QuickJSHandle, interrupted: boolean, timeoutMs: number): Error {
  let dumped: unknown;
  try {
    dumped = vm.dump(handle);
  } catch {
    dumped = undefined;
  } finally {
    handle.dispose();
  }
  if (interrupted) return codeExecutionError(timeoutMessage(timeoutMs));
  const name = typeof dumped === "object" && dumped !== null ? String((dumped as { name?: unknown }).name ?? "Error") : "Error";
  const message =
    typeof dumped === "object" && dumped !== null && "message" in dumped ? String((dumped as { message: unknown }).message) : String(dumped);
  if (name === "InternalError" && /out of memory/i.test(message)) return codeExecutionError(MEMORY_MESSAGE);
  if (typeof dumped !== "object" || dumped === null) return codeExecutionError(`main threw ${safeJson(dumped)}`);
  return codeExecutionError(`${name}: ${message}`);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
