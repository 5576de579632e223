// Jinja2 templates from imported apps (template-transform nodes, LLM prompts with edition_type
// jinja2), rendered by @huggingface/jinja: an interpreter over its own value types, with no code
// generation and no property lookup on JavaScript objects (every attribute, global and filter is a
// Map entry or a switch case), so `range.constructor`, `__class__.__mro__`, `x.__proto__` and their
// kind are undefined names, not a way into the server. On top of it:
// - Jinja2's default Environment, as Dify uses: no trim_blocks/lstrip_blocks, the one trailing
//   newline dropped, newlines normalised to "\n";
// - values printed as Python's str() (None, True, ['a']) and input as plain JSON data only;
// - our own globals (no host functions), and budgets on steps, time, string and list sizes, so a
//   template cannot hold the event loop or the heap.

import { Environment, Interpreter, parse, tokenize } from "@huggingface/jinja";
import { FILTERS } from "./filters.js";
import { LIMITS, TemplateError } from "./limits.js";
import {
  ArrayValue,
  BooleanValue,
  FloatValue,
  FunctionValue,
  IntegerValue,
  NullValue,
  ObjectValue,
  TupleValue,
  pyStr,
  statementPrototype,
  str,
  toValue,
  type Value,
} from "./values.js";

type Program = ReturnType<typeof parse>;
type Node = Parameters<Interpreter["evaluate"]>[0] & Record<string, any>;

export { LIMITS, TemplateError };

const OUTPUT = "AppgraphOutput"; // a `{{ … }}` whose value is printed with Python's str()
const TICK = "AppgraphTick"; // first in every loop body, so each iteration counts as a step
const STATEMENT_BODIES: Record<string, string[]> = {
  Program: ["body"],
  If: ["body", "alternate"],
  For: ["body", "defaultBlock"],
  Set: ["body"],
  Macro: ["body"],
  CallStatement: ["body"],
  FilterStatement: ["body"],
};
const NOT_PRINTED = new Set([...Object.keys(STATEMENT_BODIES), "Break", "Continue", "Comment", "StringLiteral"]);

const ownNode = (fields: Record<string, unknown>): Node => Object.assign(Object.create(statementPrototype), fields);

/**
 * Wrap every printed expression so it prints as Jinja2 does, not as the library's toString, and
 * start every loop body with a tick (an empty body would otherwise loop without a step).
 */
function markOutputs(node: Node) {
  for (const key of STATEMENT_BODIES[node.type] ?? []) {
    const body = node[key] as Node[] | undefined;
    if (!body) continue;
    node[key] = body.map((child) => {
      markOutputs(child);
      return NOT_PRINTED.has(child.type) ? child : ownNode({ type: OUTPUT, expression: child });
    });
  }
  if (node.type === "For") node.body.unshift(ownNode({ type: TICK }));
}

const int = (v: Value | undefined, what: string): number => {
  if (v?.type === "IntegerValue" || v?.type === "BooleanValue") return Number(v.value);
  throw new TypeError(`${what} must be an integer, not ${v?.type ?? "nothing"}`);
};

/** Jinja2's globals that take no host object: range (capped), dict, and the constants. */
function globals(env: Environment) {
  const set = (name: string, v: Value) => env.setVariable(name, v as any);
  for (const [name, v] of [["true", true], ["false", false], ["True", true], ["False", false]] as const) set(name, new BooleanValue(v));
  set("none", new NullValue(null));
  set("None", new NullValue(null));
  set(
    "range",
    new FunctionValue((args) => {
      const [start, stop, step] = args.length < 2 ? [0, int(args[0], "range() stop"), 1] : [int(args[0], "range() start"), int(args[1], "range() stop"), args[2] ? int(args[2], "range() step") : 1];
      if (step === 0) throw new Error("range() arg 3 must not be zero");
      const count = Math.max(0, Math.ceil((stop - start) / step));
      if (count > LIMITS.range) throw new Error(`Range too big. The sandbox blocks ranges larger than ${LIMITS.range}.`);
      return new ArrayValue(Array.from({ length: count }, (_, i) => new IntegerValue(start + i * step)));
    }),
  );
  set(
    "dict",
    new FunctionValue((args) => {
      const kwargs = args.at(-1)?.type === "KeywordArgumentsValue" ? (args.at(-1)!.value as Map<string, Value>) : new Map();
      return new ObjectValue(new Map(kwargs));
    }),
  );
}

const numeric = (v: Value) => v.type === "IntegerValue" || v.type === "FloatValue" || v.type === "BooleanValue";
const sequence = (v: Value) => v.type === "ArrayValue" || v.type === "TupleValue";
const typeName = (v: Value) => v.type.replace(/Value$/, "").toLowerCase();

/** The interpreter with our budgets, Python printing, and the operators Jinja2 defines differently. */
class SandboxedInterpreter extends Interpreter {
  private steps = 0;
  private readonly deadline = performance.now() + LIMITS.timeMs;

  // The package's .d.ts imports its runtime types without extensions, which NodeNext resolution
  // cannot follow: the base class types as `any`, so its surface is declared here.
  constructor(env: Environment) {
    super(env);
  }
  declare run: (program: Program) => Value;

  evaluate(node: Node, env: Environment): any {
    if (++this.steps > LIMITS.steps) throw new TemplateError(`the template took more than ${LIMITS.steps} steps`);
    if ((this.steps & 15) === 0 && performance.now() > this.deadline) throw new TemplateError(`the template ran for more than ${LIMITS.timeMs} ms`);
    return this.checked(this.evaluateOwn(node, env) ?? super.evaluate(node, env));
  }

  /** The nodes rendered here rather than by the library; undefined for the rest. */
  private evaluateOwn(node: Node, env: Environment): Value | undefined {
    if (!node) return undefined;
    if (node.type === TICK) return new NullValue(null);
    if (node.type === OUTPUT) return str(pyStr(this.evaluate(node.expression, env)));
    if (node.type === "BinaryExpression" && ["~", "+", "*"].includes(node.operator.value)) {
      return this.arithmetic(node.operator.value, this.evaluate(node.left, env), this.evaluate(node.right, env));
    }
    if (node.type === "FilterExpression") {
      const call = node.filter.type === "CallExpression" ? node.filter : undefined;
      const name = call ? (call.callee.type === "Identifier" ? call.callee.value : "") : node.filter.value;
      const filter = FILTERS.get(name);
      if (!filter) return undefined;
      const operand = this.evaluate(node.operand, env);
      const args: Value[] = [];
      const kwargs = new Map<string, Value>();
      for (const a of (call?.args ?? []) as Node[]) {
        if (a.type === "KeywordArgumentExpression") kwargs.set(a.key.value, this.evaluate(a.value, env));
        else if (a.type.endsWith("SpreadExpression")) throw new TemplateError(`unpacking arguments is not supported in filter ${name}`);
        else args.push(this.evaluate(a, env));
      }
      return filter(operand, args, kwargs);
    }
    return undefined;
  }

  /** `~`, `+` and `*` as Python has them (the library joins any two values' JavaScript text). */
  private arithmetic(op: string, a: Value, b: Value): Value {
    if (op === "~") return str(pyStr(a) + pyStr(b));
    if (numeric(a) && numeric(b)) {
      const n = op === "+" ? Number(a.value) + Number(b.value) : Number(a.value) * Number(b.value);
      return a.type === "FloatValue" || b.type === "FloatValue" ? new FloatValue(n) : new IntegerValue(n);
    }
    if (op === "+" && a.type === "StringValue" && b.type === "StringValue") return str(a.value + b.value);
    if (op === "+" && sequence(a) && sequence(b) && a.type === b.type) return new (a.type === "TupleValue" ? TupleValue : ArrayValue)([...a.value, ...b.value]);
    if (op === "*") {
      const [seq, times] = numeric(b) ? [a, b] : [b, a];
      if ((seq.type === "StringValue" || sequence(seq)) && (times.type === "IntegerValue" || times.type === "BooleanValue")) {
        const n = Math.max(0, Number(times.value));
        const limit = seq.type === "StringValue" ? LIMITS.stringChars : LIMITS.listItems;
        if (seq.value.length * n > limit) throw new TemplateError(`the result would be longer than ${limit}`);
        if (seq.type === "StringValue") return str((seq.value as string).repeat(n));
        return new (seq.type === "TupleValue" ? TupleValue : ArrayValue)(Array.from({ length: n }, () => seq.value as Value[]).flat());
      }
    }
    throw new TypeError(`unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
  }

  /** Size budgets on every value made or read, so no single step can grow the heap without bound. */
  private checked(v: Value): Value {
    if (v?.type === "StringValue" && v.value.length > LIMITS.stringChars) throw new TemplateError(`a string longer than ${LIMITS.stringChars} characters`);
    if (v && sequence(v) && v.value.length > LIMITS.listItems) throw new TemplateError(`a list longer than ${LIMITS.listItems} items`);
    return v;
  }
}

/** Jinja2's default lexing of the source: "\r\n" and "\r" read as "\n"; the library drops one trailing "\n". */
function compile(source: string): Program {
  const program = parse(tokenize(source.replace(/\r\n?/g, "\n"), { lstrip_blocks: false, trim_blocks: false }));
  markOutputs(program as Node);
  return program;
}

// Parsing is most of a small render's cost and the same templates run again and again. Bounded:
// at most 500 templates, none over 64 KiB, least recently used dropped first.
const CACHE_ENTRIES = 500;
const CACHEABLE_CHARS = 64 * 1024;
const cache = new Map<string, Program>();
function compiled(source: string): Program {
  let program = cache.get(source);
  if (program) {
    cache.delete(source);
  } else {
    program = compile(source);
    if (source.length > CACHEABLE_CHARS) return program;
  }
  cache.set(source, program);
  if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  return program;
}

export const cacheSize = () => cache.size;

function message(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n").at(-1)!.trim() || "the template failed";
}

/**
 * Render `source` with `variables` (plain data; anything else is reduced to its JSON form).
 * Names the template uses but was not given render as "". Throws TemplateError.
 */
export function renderTemplate(source: string, variables: Record<string, unknown>): string {
  try {
    const env = new Environment();
    globals(env);
    for (const [name, value] of Object.entries(variables)) env.setVariable(name, toValue(value) as any);
    const result = new SandboxedInterpreter(env).run(compiled(source)) as unknown as Value;
    return result.value as string;
  } catch (err) {
    throw err instanceof TemplateError ? err : new TemplateError(message(err));
  }
}
