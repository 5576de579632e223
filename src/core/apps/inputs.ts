// Checking a caller's `inputs` against the app's user input form, as Dify's
// BaseAppGenerator._prepare_user_inputs / _validate_inputs do. Pure: no database, no files resolved.
import { invalidParam } from "../errors.js";
import { storableJson } from "../text.js";

type Variable = {
  type: string;
  variable: string;
  required: boolean;
  options: unknown[];
  maxLength: number;
  default: unknown;
};

/**
 * The inputs a generation runs with: exactly the form's variables (unknown keys dropped), each one
 * checked and coerced (numbers from numeric strings, checkboxes from "true"/"on"/1...), absent optional
 * ones set to their DSL `default` or null, and NUL characters stripped from every string (see storableJson).
 * Throws `invalid_param` naming the first offending variable.
 */
export function validateInputs(form: Record<string, unknown>[], inputs: unknown): Record<string, unknown> {
  if (!isPlainObject(inputs)) throw invalidParam("inputs must be an object", "inputs");
  const out: [string, unknown][] = [];
  for (const entry of form) {
    const variable = variableOf(entry);
    if (!variable) continue;
    const given = Object.hasOwn(inputs, variable.variable) ? inputs[variable.variable] : undefined;
    out.push([variable.variable, storableJson(resolve(variable, given), variable.variable)]);
  }
  // fromEntries, so that even a variable named "__proto__" is an own key.
  return Object.fromEntries(out);
}

function resolve(v: Variable, given: unknown): unknown {
  const value = isMissing(v, given) ? null : coerce(v, given);
  if (value !== null) return value;
  if (v.required) throw invalidParam(`${v.variable} is required in input form`, v.variable);
  if (isEmpty(v.default)) return null;
  // The caller did not supply this one, so a default the form's own rules reject is used as written
  // rather than failing the request.
  try {
    return coerce(v, v.default);
  } catch {
    return v.default;
  }
}

/** null/undefined, "" and, for numbers, a blank string count as "not given". */
function isMissing(v: Variable, value: unknown): boolean {
  if (value === undefined || value === null || value === "") return true;
  return v.type === "number" && typeof value === "string" && value.trim() === "";
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0);
}

function coerce(v: Variable, value: unknown): unknown {
  const name = v.variable;
  switch (v.type) {
    case "text-input":
    case "paragraph":
    case "select": {
      if (typeof value !== "string") {
        throw invalidParam(`(type '${v.type}') ${name} in input form must be a string`, name);
      }
      if (v.type === "select") {
        if (!v.options.includes(value)) {
          throw invalidParam(`${name} in input form must be one of the following: ${pyList(v.options)}`, name);
        }
      } else if (v.maxLength > 0 && [...value].length > v.maxLength) {
        // Code points, as Python's len() counts them.
        throw invalidParam(`${name} in input form must be less than ${v.maxLength} characters`, name);
      }
      return value;
    }
    case "number":
      return toNumber(name, value);
    case "checkbox":
      return toBoolean(name, value);
    case "json_object":
      return toJsonObject(name, value);
    default:
      // file, file-list and anything newer: kept as given (files are resolved elsewhere).
      return value;
  }
}

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function toNumber(name: string, value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string") {
    const text = value.trim();
    if (text === "") return null;
    if (NUMERIC.test(text)) {
      const n = Number(text);
      if (Number.isFinite(n)) return n;
    }
  }
  throw invalidParam(`${name} in input form must be a valid number`, name);
}

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

function toBoolean(name: string, value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number" || typeof value === "string") {
    const text = String(value).trim().toLowerCase();
    if (TRUE.has(text)) return true;
    if (FALSE.has(text)) return false;
  }
  throw invalidParam(`${name} in input form must be a boolean`, name);
}

function toJsonObject(name: string, value: unknown): Record<string, unknown> {
  if (isPlainObject(value)) return value;
  if (typeof value === "string") {
    try {
      const parsed: unknown = JSON.parse(value);
      if (isPlainObject(parsed)) return parsed;
    } catch {
      // falls through to the error below
    }
  }
  throw invalidParam(`${name} in input form must be a valid JSON object`, name);
}

/** One form entry, `{ "<type>": { variable, ... } }`; null for entries that are not user input. */
function variableOf(entry: Record<string, unknown>): Variable | null {
  if (!isPlainObject(entry)) return null;
  const [type] = Object.keys(entry);
  const spec = type === undefined ? undefined : entry[type];
  // external_data_tool variables are filled by the server, never by the caller (Dify keeps them apart).
  if (type === undefined || type === "external_data_tool" || !isPlainObject(spec)) return null;
  if (typeof spec.variable !== "string" || spec.variable === "") return null;
  return {
    type,
    variable: spec.variable,
    required: spec.required === true,
    options: Array.isArray(spec.options) ? spec.options : [],
    maxLength: typeof spec.max_length === "number" ? spec.max_length : 0,
    default: spec.default,
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A list as Python prints it, so messages read exactly as Dify's: ['Lisbon', 'Kyoto']. */
function pyList(items: unknown[]): string {
  return `[${items.map(pyRepr).join(", ")}]`;
}

function pyRepr(item: unknown): string {
  if (typeof item === "string") {
    const quote = item.includes("'") && !item.includes('"') ? '"' : "'";
    const body = item.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll(quote, `\\${quote}`);
    return `${quote}${body}${quote}`;
  }
  if (typeof item === "boolean") return item ? "True" : "False";
  if (item === null || item === undefined) return "None";
  if (typeof item === "number") return String(item);
  return JSON.stringify(item);
}
