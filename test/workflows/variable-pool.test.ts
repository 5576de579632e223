// Values as text (prompts) and as markdown (answers), kind by kind, as Dify's segments render them
// (graphon variables/segments.py: `text` and `markdown` of each Segment class). The expected strings
// are what CPython's str()/json.dumps give for the same values.
import { describe, expect, it } from "vitest";
import { markdownOf, textOf, VariablePool } from "../../src/core/workflows/variable-pool.js";
import { remoteFileValue } from "../../src/core/files/file-refs.js";

const image = remoteFileValue("https://example.com/cat.png", "image");
const pdf = remoteFileValue("https://example.com/docs/report.pdf", "document");

describe("textOf (Segment.text)", () => {
  it("NoneSegment: nothing", () => {
    expect(textOf(null)).toBe("");
    expect(textOf(undefined)).toBe("");
  });

  it("StringSegment: the string itself", () => {
    expect(textOf("héllo\n")).toBe("héllo\n");
    expect(textOf("")).toBe("");
  });

  it("IntegerSegment: str(int)", () => {
    expect(textOf(42)).toBe("42");
    expect(textOf(2.0)).toBe("2"); // JSON cannot tell 2.0 from 2
    expect(textOf(-7)).toBe("-7");
    expect(textOf(0)).toBe("0");
  });

  it("FloatSegment: str(float), with Python's exponent form for very small and very large numbers", () => {
    expect(textOf(0.1)).toBe("0.1");
    expect(textOf(123456.789)).toBe("123456.789");
    expect(textOf(0.0001)).toBe("0.0001");
    expect(textOf(1e-5)).toBe("1e-05");
    expect(textOf(1.5e-7)).toBe("1.5e-07");
    expect(textOf(1.5e300)).toBe("1.5e+300");
    // JSON writes integral numbers below 1e21 as digits, which Python reads as ints.
    expect(textOf(1e17)).toBe("100000000000000000");
    expect(textOf(1e22)).toBe("1e+22");
  });

  it("BooleanSegment: str(bool), capitalised", () => {
    expect(textOf(true)).toBe("True");
    expect(textOf(false)).toBe("False");
  });

  it("ObjectSegment: json.dumps with Python's separators, non-ASCII kept", () => {
    expect(textOf({ a: 1, b: [1, 2], c: "é\n", d: { e: null, f: 1.5, g: false } })).toBe('{"a": 1, "b": [1, 2], "c": "é\\n", "d": {"e": null, "f": 1.5, "g": false}}');
    expect(textOf({})).toBe("{}");
  });

  it("ArrayStringSegment: json.dumps of the list; empty is nothing", () => {
    expect(textOf(["a", "é", 'q"uote'])).toBe('["a", "é", "q\\"uote"]');
    expect(textOf([])).toBe("");
  });

  it("ArrayNumberSegment and ArrayBooleanSegment: Python's str() of the list", () => {
    expect(textOf([1, 2.5, -3])).toBe("[1, 2.5, -3]");
    expect(textOf([true, false])).toBe("[True, False]");
  });

  it("ArrayObjectSegment: Python's str() of the list of dicts", () => {
    expect(textOf([{ a: 1, b: "x", c: null, d: true }])).toBe("[{'a': 1, 'b': 'x', 'c': None, 'd': True}]");
  });

  it("ArrayAnySegment (mixed or nested lists): Python's str() of the list, strings quoted as repr does", () => {
    expect(textOf(["a", 1, null])).toBe("['a', 1, None]");
    expect(textOf([[1, 2], ["a"]])).toBe("[[1, 2], ['a']]");
    expect(textOf([null, "it's", 'say "hi"', "both ' \"", "line\nbreak", "tab\t", "\x01", "back\\slash"])).toBe(
      `[None, "it's", 'say "hi"', 'both \\' "', 'line\\nbreak', 'tab\\t', '\\x01', 'back\\\\slash']`,
    );
    expect(textOf([null, "\u2028", "\x7f", "\u00a0", "😀"])).toBe("[None, '\\u2028', '\\x7f', '\\xa0', '😀']");
  });

  it("FileSegment and ArrayFileSegment: nothing", () => {
    expect(textOf(image)).toBe("");
    expect(textOf([image, pdf])).toBe("");
  });
});

describe("markdownOf (Segment.markdown)", () => {
  it("NoneSegment, StringSegment, numbers and booleans: as their text", () => {
    expect(markdownOf(null)).toBe("");
    expect(markdownOf("**bold**")).toBe("**bold**");
    expect(markdownOf(42)).toBe("42");
    expect(markdownOf(1e-5)).toBe("1e-05");
    expect(markdownOf(true)).toBe("True");
  });

  it("ObjectSegment: json.dumps with indent=2", () => {
    expect(markdownOf({ a: 1, b: [1, 2], c: {}, d: [] })).toBe('{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ],\n  "c": {},\n  "d": []\n}');
  });

  it("array segments: one '- item' line per item (items as Python's str()); empty is nothing", () => {
    expect(markdownOf(["a", "b"])).toBe("- a\n- b");
    expect(markdownOf(["a", 1, { k: "v" }, null, [1]])).toBe("- a\n- 1\n- {'k': 'v'}\n- None\n- [1]");
    expect(markdownOf([])).toBe("");
  });

  it("FileSegment and ArrayFileSegment: markdown links, images as images", () => {
    expect(markdownOf(image)).toBe("![cat.png](https://example.com/cat.png)");
    expect(markdownOf(pdf)).toBe("[report.pdf](https://example.com/docs/report.pdf)");
    expect(markdownOf([image, pdf])).toBe("![cat.png](https://example.com/cat.png)\n[report.pdf](https://example.com/docs/report.pdf)");
  });
});

describe("VariablePool.render", () => {
  const pool = new VariablePool({ sys: { query: "question", files: [] }, code: { list: ["a", "b"], flag: true } });

  it("renders Dify's default memory query without a trailing [] when no files were sent", () => {
    expect(pool.render("{{#sys.query#}}\n\n{{#sys.files#}}")).toBe("question\n\n");
  });

  it("renders text for prompts and markdown for answers", () => {
    expect(pool.render("{{#code.list#}} {{#code.flag#}}")).toBe('["a", "b"] True');
    expect(pool.render("{{#code.list#}} {{#code.flag#}}", "markdown")).toBe("- a\n- b True");
  });
});
