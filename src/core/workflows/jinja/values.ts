// @huggingface/jinja's runtime value classes, and Python's str()/repr() of them (Jinja2 prints
// values with str(): None, True, ['a', 'b'], {'k': 1}). The package exports its interpreter but not
// its value classes, so their constructors are taken from values it makes itself.

import { Environment, Interpreter, parse, tokenize } from "@huggingface/jinja";
import { pyNumber, pyStringRepr } from "../python-format.js";

/** What every runtime value of the library has. */
export interface Value {
  type: string;
  value: any;
  __bool__(): { value: boolean };
}
export type ValueClass = new (value?: any) => Value;
export type Fn = (args: Value[], scope: Environment) => Value;

const probe = new Environment();
const made = (js: unknown) => {
  probe.variables.delete("v");
  return probe.set("v", js) as unknown as Value;
};
const classOf = (value: unknown) => (value as object).constructor as ValueClass;

export const StringValue = classOf(made(""));
export const IntegerValue = classOf(made(1));
export const FloatValue = classOf(made(1.5));
export const BooleanValue = classOf(made(true));
export const NullValue = classOf(made(null));
export const UndefinedValue = classOf(made(undefined));
export const ArrayValue = classOf(made([]));
export const ObjectValue = classOf(made({}));
export const FunctionValue = classOf(probe.variables.get("namespace")) as new (fn: Fn) => Value;
const tupleProgram = parse(tokenize("{{ (1, 2) }}"));
export const TupleValue = classOf(new Interpreter(new Environment()).evaluate(tupleProgram.body[0], new Environment()));
/** The AST's base class: nodes we add must be Statements for the library's own tree walks. */
export const statementPrototype: object = Object.getPrototypeOf(Object.getPrototypeOf(tupleProgram));

export const str = (s: string) => new StringValue(s);

/**
 * Plain data as the library's values. JSON round trip first: whatever the pool holds (dates,
 * class instances, functions) arrives as data only, never as a host object or a callable.
 */
export function toValue(input: unknown): Value {
  const json = JSON.stringify(input ?? null);
  return made(json === undefined ? null : JSON.parse(json));
}

/** repr() of a float: "2.0", "0.5", "1e+16". */
function pyFloat(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return Object.is(n, -0) ? "-0.0" : `${n}.0`;
  if (Number.isInteger(n) && Math.abs(n) < 1e21) {
    const [mantissa, exponent] = n.toExponential().split("e");
    return `${mantissa}e+${exponent.replace("+", "").padStart(2, "0")}`;
  }
  return pyNumber(n);
}

/** str() of a value as Jinja2 prints it; undefined prints as "". */
export function pyStr(v: Value): string {
  if (v.type === "StringValue") return v.value;
  if (v.type === "UndefinedValue") return "";
  return pyRepr(v);
}

export function pyRepr(v: Value): string {
  switch (v.type) {
    case "StringValue":
      return pyStringRepr(v.value);
    case "IntegerValue":
      return pyNumber(v.value);
    case "FloatValue":
      return pyFloat(v.value);
    case "BooleanValue":
      return v.value ? "True" : "False";
    case "NullValue":
      return "None";
    case "UndefinedValue":
      return "Undefined";
    case "TupleValue": {
      const items = (v.value as Value[]).map(pyRepr);
      return items.length === 1 ? `(${items[0]},)` : `(${items.join(", ")})`;
    }
    case "ArrayValue":
      return `[${(v.value as Value[]).map(pyRepr).join(", ")}]`;
    case "ObjectValue":
    case "KeywordArgumentsValue":
      return `{${[...(v.value as Map<string, Value>)].map(([k, x]) => `${pyStringRepr(k)}: ${pyRepr(x)}`).join(", ")}}`;
    case "NamespaceValue":
      return `<Namespace {${[...(v.value as Map<string, Value>)].map(([k, x]) => `${pyStringRepr(k)}: ${pyRepr(x)}`).join(", ")}}>`;
    default:
      // Functions (macros, methods) print as a name, never as their source.
      return "<function>";
  }
}

/** Back to plain data, for tojson; functions have no JSON form, as in Python. */
export function toPlain(v: Value): unknown {
  switch (v.type) {
    case "ArrayValue":
    case "TupleValue":
      return (v.value as Value[]).map(toPlain);
    case "ObjectValue":
    case "KeywordArgumentsValue":
    case "NamespaceValue":
      return Object.fromEntries([...(v.value as Map<string, Value>)].map(([k, x]) => [k, toPlain(x)]));
    case "UndefinedValue":
    case "NullValue":
      return null;
    case "FunctionValue":
      throw new TypeError("Object of type function is not JSON serializable");
    default:
      return v.value;
  }
}
