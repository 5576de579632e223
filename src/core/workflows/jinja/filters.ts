// Filters where @huggingface/jinja is missing a Jinja2 filter or prints differently from it, written
// to Jinja2 3.1's definitions (Dify renders with a default jinja2 Environment, autoescape off).
// Every other filter is the library's own.

import { pyJson } from "../python-format.js";
import { LIMITS, TemplateError } from "./limits.js";
import { ArrayValue, FloatValue, IntegerValue, StringValue, pyStr, str, toPlain, type Value } from "./values.js";

export type Filter = (operand: Value, args: Value[], kwargs: Map<string, Value>) => Value;

const arg = (args: Value[], kwargs: Map<string, Value>, index: number, name: string): Value | undefined => args[index] ?? kwargs.get(name);

/** Python's iter(): characters of a str, keys of a dict, items of a list. */
function items(v: Value, filter: string): Value[] {
  switch (v.type) {
    case "StringValue":
      return Array.from(v.value as string, (c) => str(c));
    case "ArrayValue":
    case "TupleValue":
      return v.value;
    case "ObjectValue":
      return [...(v.value as Map<string, Value>).keys()].map(str);
    case "UndefinedValue":
      return [];
    default:
      throw new TypeError(`'${v.type}' object is not iterable (in filter ${filter})`);
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;" };

const defaultFilter: Filter = (operand, args, kwargs) => {
  const fallback = arg(args, kwargs, 0, "default_value") ?? str("");
  const boolean = arg(args, kwargs, 1, "boolean")?.__bool__().value ?? false;
  return operand.type === "UndefinedValue" || (boolean && !operand.__bool__().value) ? fallback : operand;
};

const length: Filter = (operand) => {
  if (operand.type === "StringValue") return new IntegerValue([...(operand.value as string)].length);
  if (operand.type === "ObjectValue") return new IntegerValue((operand.value as Map<string, Value>).size);
  if (operand.type === "ArrayValue" || operand.type === "TupleValue") return new IntegerValue(operand.value.length);
  throw new TypeError(`object of type '${operand.type}' has no len()`);
};

// str.splitlines() breaks at these.
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/;

/** indent(width=4, first=False, blank=False); sized before it is built, as a width can be huge. */
const indent: Filter = (operand, args, kwargs) => {
  const width = arg(args, kwargs, 0, "width") ?? new IntegerValue(4);
  const first = arg(args, kwargs, 1, "first")?.__bool__().value ?? false;
  const blank = arg(args, kwargs, 2, "blank")?.__bool__().value ?? false;
  const text = pyStr(operand);
  const lines = (text + "\n").split(LINE_BREAK).slice(0, -1);
  const pad = width.type === "StringValue" ? (width.value as string) : width.type === "IntegerValue" ? Math.max(0, width.value) : NaN;
  if (Number.isNaN(pad)) throw new TypeError("indent width must be an integer or a string");
  const padLength = typeof pad === "string" ? pad.length : pad;
  if (text.length + padLength * (lines.length + 1) > LIMITS.stringChars) throw new TemplateError(`the result would be longer than ${LIMITS.stringChars}`);
  const indention = typeof pad === "string" ? pad : " ".repeat(pad);
  const out = blank ? lines.join(`\n${indention}`) : [lines[0] ?? "", ...lines.slice(1).map((l) => (l ? indention + l : l))].join("\n");
  return str(first ? indention + out : out);
};

/** round(precision=0, method="common"): Python's round() (half to even), or math.ceil / floor. */
const round: Filter = (operand, args, kwargs) => {
  const precision = Number(arg(args, kwargs, 0, "precision")?.value ?? 0);
  const method = String(arg(args, kwargs, 1, "method")?.value ?? "common");
  if (!["common", "ceil", "floor"].includes(method)) throw new Error("method must be common, ceil or floor");
  if (!["IntegerValue", "FloatValue", "BooleanValue"].includes(operand.type)) throw new TypeError(`type ${operand.type} doesn't define __round__ method`);
  const scale = 10 ** precision;
  const x = Number(operand.value) * scale;
  let n: number;
  if (method === "ceil") n = Math.ceil(x);
  else if (method === "floor") n = Math.floor(x);
  else n = Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x);
  return new FloatValue(n / scale);
};

export const FILTERS = new Map<string, Filter>([
  ["default", defaultFilter],
  ["d", defaultFilter],
  ["length", length],
  ["count", length],
  // str() of each item, so numbers, None and dicts join as Python prints them.
  ["join", (operand, args, kwargs) => str(items(operand, "join").map(pyStr).join(pyStr(arg(args, kwargs, 0, "d") ?? str(""))))],
  ["string", (operand) => str(pyStr(operand))],
  ["indent", indent],
  ["round", round],
  ["wordcount", (operand) => new IntegerValue(pyStr(operand).match(/\w+/gu)?.length ?? 0)],
  ["list", (operand) => new ArrayValue(items(operand, "list"))],
  ["e", (operand) => str(pyStr(operand).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]))],
  ["escape", (operand) => str(pyStr(operand).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]))],
  [
    // Jinja2's htmlsafe_json_dumps: sorted keys, ASCII only, and <, >, &, ' as \u escapes.
    "tojson",
    (operand, args, kwargs) => {
      const indent = arg(args, kwargs, 0, "indent");
      const json = pyJson(sortKeys(toPlain(operand)), indent?.type === "IntegerValue" ? indent.value : undefined);
      return new StringValue(
        json
          .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
          .replace(/[<>&']/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
      );
    },
  ],
]);
