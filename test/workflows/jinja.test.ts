// The template sandbox (core/workflows/jinja): Dify's corpus templates render as Jinja2 renders
// them, values print as Python's str(), known escapes reach nothing of the host, and a template
// cannot run or grow without bound. Expected outputs were produced with Jinja2 3.1 (Dify's default
// jinja2.Template), and each corpus case was also rendered with nunjucks before it was removed: the
// comments mark where nunjucks printed something else.
import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import YAML from "yaml";
import { LIMITS, TemplateError, cacheSize, renderTemplate } from "../../src/core/workflows/jinja/render.js";
import { jinjaInput } from "../../src/core/workflows/nodes/llm.js";
import { ESCAPES, hostDataIn } from "../support/jinja-escapes.js";
import { fixture } from "../support/server.js";

/** Every Jinja2 template in the corpus: template-transform nodes and LLM messages with edition_type jinja2. */
function corpusTemplates(): Map<string, string> {
  const found = new Map<string, string>();
  const dir = new URL("../fixtures/dsl-corpus/", import.meta.url);
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".yml")).sort()) {
    const doc = YAML.parse(fixture(`dsl-corpus/${file}`));
    for (const node of doc.workflow?.graph?.nodes ?? []) {
      if (node.data.type === "template-transform") found.set(`${file}#${node.id}`, node.data.template);
      if (node.data.type !== "llm") continue;
      const messages = Array.isArray(node.data.prompt_template) ? node.data.prompt_template : [node.data.prompt_template];
      messages.forEach((m: any, i: number) => m?.edition_type === "jinja2" && found.set(`${file}#${node.id}#${i}`, m.jinja2_text ?? m.text));
    }
  }
  return found;
}

/** Inputs like the ones each template gets in its app, and what Jinja2 renders from them. */
const CORPUS: Record<string, [Record<string, unknown>, string][]> = {
  "advanced-chat-file-and-web-search-qa.yml#1727438089651": [
    [{"title":"Kyoto in autumn","url":"https://example.com/kyoto","content":"Temples, gardens & maple leaves.\nBook early."}, "Title: [Kyoto in autumn](https://example.com/kyoto)\n\nTemples, gardens & maple leaves.\nBook early."],
    [{"title":null,"url":"","content":"x"}, "Title: [None]()\n\nx"], // nunjucks: "Title: []()\n\nx"
  ],
  "advanced-chat-file-and-web-search-qa.yml#1727438463965": [
    [{"title":"Kyoto in autumn","url":"https://example.com/kyoto","content":"Temples, gardens & maple leaves.\nBook early."}, "Title: [Kyoto in autumn](https://example.com/kyoto)\n\nTemples, gardens & maple leaves.\nBook early."],
  ],
  "advanced-chat-file-and-web-search-qa.yml#17274406200850": [
    [{"title":"Osaka <food>","url":"https://example.com/osaka?a=1&b=2","content":"Takoyaki \"and\" okonomiyaki."}, "Title: [Osaka <food>](https://example.com/osaka?a=1&b=2)\n\nTakoyaki \"and\" okonomiyaki."],
  ],
  "advanced-chat-file-and-web-search-qa.yml#17274408457890": [
    [{"title":"Nara","url":"https://example.com/nara","content":""}, "Title: [Nara](https://example.com/nara)\n\n"],
  ],
  "advanced-chat-file-and-web-search-qa.yml#1729777162616": [
    [{"my_list":["first chunk","second chunk\nwith two lines"]}, "\n<docs>\n<doc id=\"1\">\nfirst chunk\n</doc>\n</docs>\n\n<docs>\n<doc id=\"2\">\nsecond chunk\nwith two lines\n</doc>\n</docs>\n"],
    [{"my_list":[]}, ""],
  ],
  "advanced-chat-o1-style-reasoning.yml#1727189088392": [
    [{"step_answer":["Step 1: read the question","Step 2: think","Step 3: answer"]}, "Step 1: read the question\nStep 2: think\nStep 3: answer"],
    [{"step_answer":"abc"}, "a\nb\nc"], // nunjucks: "ERROR (unknown path)\n  TypeError: arr.join is not a function"
  ],
  "advanced-chat-s3-rag-question-classifier.yml#1744859178895": [
    [{"arg1":"billing"}, "s3://687752207838-dify-files/intention_md/billing.faq"],
  ],
  "advanced-chat-time-tool-static-output.yml#1754336733947": [
    [{}, "hello, dify!"],
  ],
  "advanced-chat-web-search-master.yml#1719840940932": [
    [{"arg1":"one search result"}, "one search result"], // nunjucks: "one search result\n"
    [{"arg1":["result a","result b"]}, "['result a', 'result b']"], // nunjucks: "result a,result b\n"
  ],
  "advanced-chat-web-search-master.yml#1720570101918": [
    [{"title":"Query: tea","text":"Green tea is popular."}, "Query: tea\nGreen tea is popular."],
  ],
  "workflow-dual-switch-variable-aggregator.yml#1754405621378": [
    [{}, "switch 1 on"],
  ],
  "workflow-dual-switch-variable-aggregator.yml#1754405636857": [
    [{}, "switch 1 off"],
  ],
  "workflow-dual-switch-variable-aggregator.yml#1754405668235": [
    [{}, "switch 2 on"],
  ],
  "workflow-dual-switch-variable-aggregator.yml#1754405680809": [
    [{}, "switch 2 off"],
  ],
  "workflow-iteration-template-formatting.yml#1754683458843": [
    [{"arg1":"apple"}, "output: apple"],
    [{"arg1":3}, "output: 3"],
  ],
  "workflow-webpage-rewrite-dataflow.yml#1719054341069": [
    [{"output":["Intro section.","Second section."]}, "\n\nIntro section.\n\n----------------------------------\n\n\n\nSecond section.\n\n----------------------------------\n\n"], // nunjucks kept the template's "\r\n"
  ],
  "workflow-webpage-rewrite-dataflow.yml#17303834316570": [
    [{"output":["Only section."]}, "\n\nOnly section.\n\n----------------------------------\n\n"], // nunjucks: "\r\n\r\nOnly section.\r\n\r\n----------------------------------\r\n\r\n"
  ],
};

const render = (template: string, vars: Record<string, unknown> = {}) => renderTemplate(template, vars);

describe("Dify's corpus templates", () => {
  const templates = corpusTemplates();

  it("are all listed here", () => {
    expect([...templates.keys()].sort()).toEqual(Object.keys(CORPUS).sort());
    expect(templates.size).toBe(17);
  });

  it.each(Object.entries(CORPUS))("%s renders as Jinja2 does", (key, cases) => {
    for (const [inputs, expected] of cases) expect(render(templates.get(key)!, inputs)).toBe(expected);
  });
});

describe("Jinja2's semantics", () => {
  it.each([
    ["{{ x }}", {"x": null}, "None"],
    ["{{ flag }} {{ n }} {{ f }} {{ l }} {{ d }}", {"flag": true, "n": 3, "f": 2.5, "l": ["a", 1, null, true], "d": {"k": "v", "n": [1, 2]}}, "True 3 2.5 ['a', 1, None, True] {'k': 'v', 'n': [1, 2]}"],
    ["{{ 4 / 2 }} {{ 7 // 2 }} {{ 1 + 2 * 3 }} {{ 2 ** 10 }} {{ 10 % 3 }}", {}, "2.0 3 7 1024 1"],
    ["{{ \"a\" ~ 1 ~ none ~ true }}", {}, "a1NoneTrue"],
    ["{{ \"-\" * 5 }}{{ [1] * 3 }}", {}, "-----[1, 1, 1]"],
    ["{{ name.upper() }} {{ name | lower }} {{ name | title }} {{ name.strip() }} {{ name | length }}", {"name": "  hello World  "}, "  HELLO WORLD     hello world     Hello World   hello World 15"],
    ["{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {"d": {"a": 1, "b": "x"}}, "a=1;b=x;"],
    ["{% for item in items %}{{ loop.index }}/{{ loop.length }}:{{ item }}{% if not loop.last %}, {% endif %}{% endfor %}", {"items": ["x", "y", "z"]}, "1/3:x, 2/3:y, 3/3:z"],
    ["{% for item in items %}{{ item }}{% else %}empty{% endfor %}", {"items": []}, "empty"],
    ["{% if n > 5 %}big{% elif n > 2 %}mid{% else %}small{% endif %}", {"n": 3}, "mid"],
    ["{% set total = 0 %}{% set ns = namespace(total=0) %}{% for i in nums %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}", {"nums": [1, 2, 3]}, "6"],
    ["{{ x | default(\"none given\") }} {{ y | default(\"fallback\", true) }} {{ z | d(\"dd\") }}", {"y": ""}, "none given fallback dd"],
    ["{{ items | join(\", \") }}|{{ nums | join }}|{{ mixed | join(\"-\") }}", {"items": ["a", "b"], "nums": [1, 2], "mixed": [1, null, {"a": 1}]}, "a, b|12|1-None-{'a': 1}"],
    ["{{ data | tojson }}", {"data": {"b": 1, "a": "<é>", "c": [true, null]}}, "{\"a\": \"\\u003c\\u00e9\\u003e\", \"b\": 1, \"c\": [true, null]}"],
    ["{{ data | tojson(indent=2) }}", {"data": {"b": 1, "a": [1, 2]}}, "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": 1\n}"],
    ["{{ text | replace(\"a\", \"o\") }} {{ text | trim }} {{ text.split(\" \") }}", {"text": " banana split "}, " bonono split  banana split ['', 'banana', 'split', '']"],
    ["{{ items | first }} {{ items | last }} {{ items | length }} {{ items | reverse | list }} {{ items | sort }}", {"items": ["b", "a", "c"]}, "b c 3 ['c', 'a', 'b'] ['a', 'b', 'c']"],
    ["{{ users | map(attribute=\"name\") | join(\", \") }}", {"users": [{"name": "Ann"}, {"name": "Bo"}]}, "Ann, Bo"],
    ["{{ users | selectattr(\"active\") | map(attribute=\"name\") | list }}", {"users": [{"name": "Ann", "active": true}, {"name": "Bo", "active": false}]}, "['Ann']"],
    ["{{ s[0] }}{{ s[-1] }}{{ s[1:3] }}{{ l[::2] }}", {"s": "hello", "l": [1, 2, 3, 4, 5]}, "hoel[1, 3, 5]"],
    ["{{ \"x\" in s }} {{ 3 in l }} {{ \"k\" in d }} {{ s is string }} {{ n is number }} {{ u is defined }}", {"s": "xyz", "l": [3], "d": {"k": 1}, "n": 1}, "True True True True True False"],
    ["{{ x | string }} {{ x | int }} {{ \"42\" | int + 1 }} {{ \"3.5\" | float }}", {"x": 7}, "7 7 43 3.5"],
    ["{{ s | e }} {{ s | escape }}", {"s": "<a href='x'>&\"</a>"}, "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt; &lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;"],
    ["{# comment #}a  {{- \" b \" -}}  c", {}, "a b c"],
    ["line1\n{% if true %}\nyes\n{% endif %}\nend\n", {}, "line1\n\nyes\n\nend"],
    ["  {% for i in l %}\n  - {{ i }}\n  {% endfor %}\n", {"l": [1, 2]}, "  \n  - 1\n  \n  - 2\n  "],
    ["{%- for i in l -%}\n{{ i }}\n{%- endfor %}", {"l": [1, 2]}, "12"],
    ["{% macro greet(name, punct=\"!\") %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet(\"Ann\") }} {{ greet(\"Bo\", \"?\") }}", {}, "Hi Ann! Hi Bo?"],
    ["{{ d.get(\"a\") }} {{ d.get(\"zz\", \"dflt\") }} {{ d.keys() | list }} {{ d.values() | list }} {{ d[\"a\"] }} {{ d.a }}", {"d": {"a": 1}}, "1 dflt ['a'] [1] 1 1"],
    ["{{ nested.a.b[1].c }}", {"nested": {"a": {"b": [0, {"c": "deep"}]}}}, "deep"],
    ["{{ s.startswith(\"he\") }} {{ s.endswith(\"x\") }} {{ s.replace(\"l\", \"L\") }} {{ s.capitalize() }}", {"s": "hello"}, "True False heLLo Hello"],
    ["{% set x = \"outer\" %}{% for i in [1] %}{% set x = \"inner\" %}{% endfor %}{{ x }}", {}, "outer"],
    ["{{ l | length }} {{ l | count }} {{ \"日本🙂\" | length }}", {"l": [1, 2]}, "2 2 3"],
    ["{{ n | abs }} {{ \"abc\" | list }} {{ d | list }}", {"n": -3, "d": {"x": 1, "y": 2}}, "3 ['a', 'b', 'c'] ['x', 'y']"],
    ["{% filter upper %}hello {{ name }}{% endfilter %}", {"name": "ann"}, "HELLO ANN"],
    ["{{ a and b }} {{ a or b }} {{ not a }} {{ none or \"x\" }}", {"a": 0, "b": "yes"}, "0 yes True x"],
    ["{{ 3.7 | round }} {{ words | wordcount }}", {"words": "a b c"}, "4.0 3"],
    ["{{ 2.5 | round }} {{ 3.14159 | round(2) }} {{ 2.1 | round(0, \"ceil\") }}", {}, "2.0 3.14 3.0"],
    ["{{ \"a\\nb\\n\\nc\" | indent }}|{{ \"a\\nb\" | indent(2, true) }}|{{ \"x\\ny\" | indent(\"> \") }}", {}, "a\n    b\n\n    c|  a\n  b|x\n> y"],
  ] as [string, Record<string, unknown>, string][])("%s", (template, vars, expected) => {
    expect(render(template, vars)).toBe(expected);
  });

  it("renders names it was not given as empty, and fails with the template's error", () => {
    expect(render("[{{ missing }}{{ missing.attr }}{{ missing | default('') }}]")).toBe("[]");
    expect(() => render("{% for x in %}")).toThrow(TemplateError);
    expect(() => render("{{ 1 + 'a' }}")).toThrow(/unsupported operand type/);
    expect(() => render("{% if %}")).toThrow(TemplateError);
  });

  it("takes variables as plain data only", () => {
    class Secretive {
      secret = "kept";
      reveal() {
        return process.version;
      }
    }
    const vars = { f: () => process.version, obj: new Secretive(), when: new Date(0), p: JSON.parse('{"__proto__": {"polluted": 1}}') };
    expect(render("{{ f }}|{{ obj }}|{{ obj.reveal }}|{{ when }}|{{ p.__proto__.polluted }}|{{ {}.polluted }}", vars)).toBe(
      "None|{'secret': 'kept'}||1970-01-01T00:00:00.000Z|1|",
    );
    expect(({} as any).polluted).toBeUndefined();
  });

  it("gives LLM prompts their variables as Dify does: text, lists a line each, dicts as JSON", () => {
    expect(jinjaInput(["a", 2, { k: "é" }, { metadata: { _source: "knowledge" }, content: "chunk" }])).toBe('a\n2\n{"k": "é"}\nchunk');
    expect(jinjaInput({ k: [1, true] })).toBe('{"k": [1, true]}');
    expect([jinjaInput(3), jinjaInput(true), jinjaInput(null), jinjaInput(undefined)]).toEqual(["3", "True", "", ""]);
  });
});

describe("escapes", () => {
  const canary = "canary-7f3a9c";
  process.env.APPGRAPH_TEMPLATE_CANARY = canary;

  it.each(ESCAPES)("%s reaches nothing of the host", (_what, template) => {
    let out: string;
    try {
      out = render(template, { x: "s", d: { a: 1 } });
    } catch (err) {
      // Failing is fine, with the template's own error and nothing of the host in it.
      expect(err).toBeInstanceOf(TemplateError);
      out = (err as Error).message;
    }
    expect(hostDataIn(out, [canary])).toEqual([]);
  });

  it("prints functions by name, never their source", () => {
    expect(render('{{ "".upper }}|{{ range }}|{{ ["".upper] | join }}|{{ "x" ~ range }}')).toBe("<function>|<function>|<function>|x<function>");
  });
});

describe("limits", () => {
  const saved = { ...LIMITS };
  afterEach(() => Object.assign(LIMITS, saved));

  it("stops a template after its steps, even loops with empty bodies", () => {
    LIMITS.steps = 50_000;
    LIMITS.timeMs = 120_000; // the step count must stop it, not the clock (slow on a loaded machine)
    expect(() => render("{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}")).toThrow(/more than 50000 steps/);
  });

  it("caps ranges, strings and lists before they grow", () => {
    expect(() => render("{{ range(100001) | length }}")).toThrow(/Range too big/);
    expect(render("{{ range(100000) | length }}")).toBe("100000");
    expect(() => render('{% set ns = namespace(s="ab") %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}')).toThrow(/longer than 4000000/);
    expect(() => render('{{ "x" * 100000000 }}')).toThrow(/longer than 4000000/);
    expect(() => render("{{ [1] * 1000000 }}")).toThrow(/longer than 300000/);
    expect(() => render('{{ "a\\nb" | indent(500000000) }}')).toThrow(/longer than 4000000/);
    expect(() => render(`{{ ${"(".repeat(20_000)}1${")".repeat(20_000)} }}`)).toThrow(TemplateError);
  });

  it("keeps a bounded cache of parsed templates", () => {
    for (let i = 0; i < 600; i++) render(`{{ ${i} }}`);
    expect(cacheSize()).toBe(500);
  });
});
