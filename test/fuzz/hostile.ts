// Hostile values for the fuzz test (bad-input.test.ts): strings the database or the model cannot take,
// wrong types, huge and negative numbers, deep JSON, and URL pieces that do not percent-decode.
import fc from "fast-check";

/** JSON text spliced verbatim into a body: what JSON.stringify cannot write (1e400, a `__proto__` key, deep nesting). */
export class RawJson {
  constructor(readonly text: string) {}
  toString() {
    return this.text.length > 200 ? `RawJson(${this.text.slice(0, 60)}… ${this.text.length} chars)` : `RawJson(${this.text})`;
  }
}

/** `value` as JSON text, RawJson pieces spliced in. */
export function jsonText(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v) => (v instanceof RawJson ? `\u0001RAW${raws.push(v.text) - 1}\u0001` : v));
  if (text === undefined) return "null";
  return raws.length ? text.replace(/"\\u0001RAW(\d+)\\u0001"/g, (_m, i) => raws[Number(i)]) : text;
}

const deep = (n: number, open: string, leaf: string, close: string) => new RawJson(open.repeat(n) + leaf + close.repeat(n));

/** Strings PostgreSQL, JSON columns, URLs or the model choke on, and strings that look like other types. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  // What PostgreSQL refuses, most often: NUL and lone surrogates, alone or inside text.
  { weight: 3, arbitrary: fc.tuple(fc.string({ maxLength: 4 }), fc.constantFrom("\u0000", "\ud800", "\udfff", "\ud83d"), fc.string({ maxLength: 4 })).map((p) => p.join("")) },
  fc.constantFrom(
    "\u0000",
    "a\u0000b",
    "\ud800",
    "x\udc00y",
    "\udbff\u0000",
    "😀\ud83d",
    "%zz",
    "%E0%A4",
    "%ED%A0%80",
    "%00",
    "",
    " ",
    "\r\n",
    "null",
    "NaN",
    "-1",
    "1e400",
    "true",
    "[]",
    "{}",
    "../../etc/passwd",
    "{{ 7*7 }}",
    "{% for x in range(9999999) %}{% endfor %}",
    "{{#sys.query#}}",
    "' OR 1=1 --",
    "\u202e\ufeff",
    "00000000-0000-0000-0000-000000000000",
    "not-a-uuid",
    "3fa85f64-5717-4562-b3fc-2c963f66afa6\u0000",
    "3FA85F64-5717-4562-B3FC-2C963F66AFA6",
    "Q29udmVyc2F0aW9uOm5vcGU=", // base64 "Conversation:nope"
    "Q29udmVyc2F0aW9uOgA=", // base64 "Conversation:\0"
    "TWVzc2FnZTo=", // base64 "Message:"
  ),
  fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 3 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: fc.constantFrom("a", "\u0000", "\ud800", "é", "😀", "%", "\\"), maxLength: 30 }),
  // Over-long: past every column and max_length, still under the 1 MiB body cap.
  fc.integer({ min: 100_001, max: 300_000 }).map((n) => "x".repeat(n)),
  fc.integer({ min: 100_001, max: 150_000 }).map((n) => "\u0000".repeat(n)),
);

/** Numbers that are not the small positive integers a field wants. */
export const hostileNumber: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(0, -1, -0, 1.5, -2147483648, 2147483648, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, 1e308, -1e308, 5e-324),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(new RawJson("1e400"), new RawJson("-1e400"), new RawJson("123456789012345678901234567890"), new RawJson("1.0")),
);

/** Objects with keys that trip naive code (`String(obj)` with an own toString, prototype keys). */
const trapObject: fc.Arbitrary<unknown> = fc.constantFrom(
  { toString: "x" },
  { valueOf: 1, toString: null },
  { toJSON: "x" },
  { constructor: "x", hasOwnProperty: 1 },
  new RawJson('{"__proto__":{"polluted":true,"toString":1}}'),
  new RawJson('{"a":1,"a":"dup"}'),
);

/** Nesting deep enough to overflow a recursive walk (JSON.parse itself takes it). */
export const deepJson: fc.Arbitrary<RawJson> = fc.oneof(
  fc.integer({ min: 1_000, max: 120_000 }).map((n) => deep(n, "[", "", "]")),
  fc.integer({ min: 1_000, max: 60_000 }).map((n) => deep(n, '{"a":', "1", "}")),
  fc.integer({ min: 50, max: 200 }).map((n) => deep(n, '{"a":[', '"x"', "]}")),
);

/** Any value of any type, mostly the wrong one for wherever it lands. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { arbitrary: hostileString, weight: 6 },
    { arbitrary: hostileNumber, weight: 3 },
    { arbitrary: fc.constantFrom(true, false, null), weight: 2 },
    { arbitrary: fc.array(tie("value"), { maxLength: 3 }), weight: 2 },
    { arbitrary: fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), hostileString.filter((s) => s.length < 50)), tie("value"), { maxKeys: 3 }), weight: 2 },
    { arbitrary: trapObject, weight: 1 },
    { arbitrary: deepJson, weight: 1 },
    { arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => Array.from({ length: n }, (_, i) => i)), weight: 1 },
  ),
})).value;

/** Percent-encoded text the URL parser keeps as written: it decodes to NUL, a lone surrogate, or not at all. */
export const hostileUrlPiece: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("%zz", "%E0%A4", "%ED%A0%80", "%00", "%", "%%", "%C0%80", "%FF%FE", "a%2Fb", "%2E%2E", "..", "%20", "null", "-1", "1e400", "0x1f"),
  fc.string({ unit: fc.constantFrom("a", "%", "zz", "%00", "%ED%A0%80", "%E0%A4", "-", "9"), maxLength: 12 }),
  hostileString.filter((s) => s.length < 2_000).map(encodeLoosely),
  fc.integer({ min: 2_000, max: 6_000 }).map((n) => "a".repeat(n)),
);

/** Percent-encode every code unit of `s` as UTF-8; lone surrogates as the bytes WTF-8 gives them (%ED%A0%80). */
export function encodeLoosely(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    if (pair) {
      out += encodeURIComponent(s.slice(i, i + 2));
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join("");
    } else out += encodeURIComponent(s[i]);
  }
  return out;
}

/** Header values fetch can send (no NUL, CR, LF or code points past U+00FF), hostile otherwise. */
export const hostileHeader: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("Bearer", "Bearer ", "Bearer x.y.z", "Bearer a.b", "eyJhbGciOiJub25lIn0.e30.", "null", "ÿÿÿ", "%00", "a".repeat(4000)),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 60 }).map((s) => s.trim() || "x"),
);
