// Known ways out of a template engine into its host, for the template sandbox's tests: JavaScript
// prototype chains (what reached the server under nunjucks), Python's (what reaches Jinja2's host),
// functions returned by members and globals, and attribute access spelled every other way.

/** [what it tries, template]; `x` is a string variable and `d` a dict in every render. */
export const ESCAPES: [string, string][] = [
  ["range.constructor (nunjucks' known escape)", `{{ range.constructor("return process.version")() }}`],
  ["range.constructor.constructor", `{{ range.constructor.constructor("return process")().version }}`],
  ["cycler.__init__.__globals__", `{{ cycler.__init__.__globals__.os.environ }}`],
  ["joiner.__init__.__globals__", `{{ joiner.__init__.__globals__.os.popen("id").read() }}`],
  ["lipsum.__globals__", `{{ lipsum.__globals__["os"].popen("id").read() }}`],
  ["loop.constructor in a for", `{% for i in [1] %}{{ loop.constructor.constructor("return process.version")() }}{% endfor %}`],
  ["loop.__class__.__mro__", `{% for i in [1] %}{{ loop.__class__.__mro__ }}{{ loop.constructor.name }}{% endfor %}`],
  ["namespace.constructor", `{{ namespace.constructor("return process.env")() }}`],
  ["dict.constructor", `{{ dict.constructor("return process.version")() }}`],
  ["string literal .constructor.constructor", `{{ "".constructor.constructor("return process.version")() }}`],
  ["list literal .constructor.constructor", `{{ [].constructor.constructor("return process.version")() }}`],
  ["dict literal .constructor.constructor", `{{ {}.constructor.constructor("return process.version")() }}`],
  ["variable .__proto__", `{{ x.__proto__ }}{{ x.__proto__.constructor.constructor("return process.version")() }}`],
  ["dict ['__proto__']['constructor']", `{{ d.__proto__.constructor }}{{ d["__proto__"]["constructor"]["constructor"]("return process.version")() }}`],
  ["['constructor'] subscript", `{{ x["constructor"]["constructor"]("return process.version")() }}`],
  ["x.__class__.__mro__", `{{ x.__class__.__mro__[1].__subclasses__() }}`],
  ["''.__class__.__mro__", `{{ ''.__class__.__mro__[1].__subclasses__() }}`],
  ["''.__class__.__base__.__subclasses__", `{{ "".__class__.__base__.__subclasses__()[40]("/etc/passwd").read() }}`],
  ["__class__.__init__.__globals__", `{{ x.__class__.__init__.__globals__ }}`],
  ["self.__init__.__globals__.__builtins__", `{{ self.__init__.__globals__.__builtins__.__import__("os").environ }}`],
  ["for over __mro__", `{% for c in "".__class__.__mro__ %}{{ c }}{% endfor %}`],
  ["host globals by name", `{{ config }}{{ request }}{{ process }}{{ globalThis }}{{ this }}{{ require }}{{ module }}{{ self }}{{ env }}`],
  ["method .constructor", `{{ "".upper.constructor("return process.version")() }}`],
  ["method .call/.apply/.bind/.toString", `{{ "".upper.call }}{{ "".upper.apply }}{{ "".upper.bind }}{{ "".upper.toString() }}`],
  ["printing functions", `{{ "".upper }}{{ range }}{{ namespace }}{{ dict }}{{ d.items }}`],
  ["functions through ~", `{{ "x" ~ "".upper }}{{ "" ~ range }}`],
  ["functions through +", `{{ "" + "".upper }}`],
  ["functions through join", `{{ ["".upper, range] | join }}`],
  ["functions through string", `{{ "".upper | string }}{{ [range] | string }}`],
  ["functions through tojson", `{{ "".upper | tojson }}`],
  ["attr('constructor')", `{{ x | attr("constructor") }}`],
  ["attr() then call", `{{ (x | attr("constructor"))("return process.version")() }}`],
  ["map('constructor')", `{{ [x] | map("constructor") | list }}`],
  ["{% set %} a method", `{% set f = "".upper %}{{ f }}{{ f.constructor }}`],
  ["{% set %} a constructor", `{% set c = range.constructor %}{{ c("return process.version")() }}`],
  ["{% set %} into a namespace", `{% set ns = namespace() %}{% set ns.constructor = range %}{{ ns.constructor("return process.version") }}`],
  ["{% set %} block", `{% set c %}{{ range.constructor }}{% endset %}{{ c }}`],
  ["macro .constructor", `{% macro m() %}{% endmacro %}{{ m.constructor("return process.version")() }}{{ m }}`],
  ["the library's own fields", `{{ x.value }}{{ x.builtins }}{{ x.type }}{{ d.value }}{{ d.builtins }}`],
  ["JS object methods", `{{ x.valueOf() }}{{ x.toString() }}{{ d.hasOwnProperty("a") }}`],
  ["dict.get('constructor')", `{{ d.get("constructor") }}{{ d.get("__proto__") }}{{ d.get("toString") }}`],
  ["the library's host helpers", `{{ raise_exception("x") }}{{ strftime_now("%Y") }}`],
  ["a key named __proto__", `{{ d["__proto__"] }}{{ dict(__proto__=1) }}`],
];

/** What in `text` would mean the template read something of the host (JavaScript source included). */
export function hostDataIn(text: string, secrets: string[] = []): string[] {
  const found = [process.version, process.execPath, process.cwd(), "[native code]", "node_modules", ...secrets].filter((s) => text.includes(s));
  return [...found, ...(text.match(/=>|\bfunction\s*\w*\s*\(|\breturn new\b|\bthis\.value\b/g) ?? [])];
}
