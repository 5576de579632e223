// Python's renderings of JSON-like values, which Dify's segments use as their text: str() of numbers,
// booleans, lists and dicts (whose items print as repr), and json.dumps with its default ", " and ": "
// separators. Hand-written because no npm package reproduces CPython's repr, and these few rules are
// all that Dify's segments need.

/**
 * str() of a number as Python would print it after reading our JSON: integral numbers below 1e21
 * (which JSON writes as digits) are ints, so 2.0 prints "2"; other floats as Python's repr, which
 * uses exponent form outside [1e-4, 1e16).
 */
export function pyNumber(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
  const abs = Math.abs(n);
  if (Number.isInteger(n) && abs < 1e21) return String(n);
  // JS writes fixed notation down to 1e-7; Python switches to exponents below 1e-4.
  if (abs >= 1e-4 && abs < 1e16) return String(n);
  const [mantissa, exponent] = n.toExponential().split("e");
  const sign = exponent.startsWith("-") ? "-" : "+";
  return `${mantissa}e${sign}${exponent.replace(/^[+-]/, "").padStart(2, "0")}`;
}

// What Python's str.isprintable() rejects (the space aside): repr escapes these.
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** repr() of a str: single quotes unless the text has a single quote and no double quote. */
export function pyStringRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of s) {
    if (ch === quote || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch !== " " && NON_PRINTABLE.test(ch)) {
      const code = ch.codePointAt(0)!;
      const hex = code.toString(16);
      out += code < 0x100 ? `\\x${hex.padStart(2, "0")}` : code < 0x10000 ? `\\u${hex.padStart(4, "0")}` : `\\U${hex.padStart(8, "0")}`;
    } else out += ch;
  }
  return quote + out + quote;
}

/** repr() of a JSON-like value: None, True, False, numbers, 'strings', [lists] and {dicts}. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") return pyNumber(value);
  if (typeof value === "string") return pyStringRepr(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  if (typeof value === "object") return `{${Object.entries(value).map(([k, v]) => `${pyStringRepr(k)}: ${pyRepr(v)}`).join(", ")}}`;
  return pyStringRepr(String(value));
}

/** str() of a value: strings as they are, everything else as repr. */
export function pyStr(value: unknown): string {
  return typeof value === "string" ? value : pyRepr(value);
}

/** json.dumps(value, ensure_ascii=False), with indent=`indent` when given. */
export function pyJson(value: unknown, indent?: number, depth = 0): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") return Number.isNaN(value) ? "NaN" : Number.isFinite(value) ? pyNumber(value) : value > 0 ? "Infinity" : "-Infinity";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value !== "object") return JSON.stringify(String(value));
  const isList = Array.isArray(value);
  const items = isList
    ? value.map((v) => pyJson(v, indent, depth + 1))
    : Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pyJson(v, indent, depth + 1)}`);
  const [open, close] = isList ? ["[", "]"] : ["{", "}"];
  if (!items.length) return open + close;
  if (indent === undefined) return open + items.join(", ") + close;
  const inner = `\n${" ".repeat(indent * (depth + 1))}`;
  return `${open}${inner}${items.join(`,${inner}`)}\n${" ".repeat(indent * depth)}${close}`;
}
