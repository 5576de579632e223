// template-transform: Dify renders Jinja2; appgraph renders with nunjucks, a maintained Jinja-compatible
// engine. Differences: no Python methods on values (e.g. `"a".upper()`); use filters (`| upper`).
import nunjucks from "nunjucks";
import type { NodeExecutor } from "../engine.js";
import { NodeFailure } from "../engine.js";

const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false });

// Compiling is most of a render's cost; the same templates run again and again.
const compiled = new Map<string, nunjucks.Template>();
export function compileTemplate(source: string): nunjucks.Template {
  let template = compiled.get(source);
  if (!template) {
    template = new nunjucks.Template(source, env, undefined, true);
    if (compiled.size >= 1000) compiled.delete(compiled.keys().next().value!);
    compiled.set(source, template);
  }
  return template;
}
const MAX_OUTPUT = 400_000; // Dify caps the output at 400,000 characters

export function templateVariables(node: { data: Record<string, any> }, get: (s: string[]) => unknown) {
  const vars: Record<string, unknown> = {};
  for (const v of (node.data.variables ?? []) as { variable: string; value_selector: string[] }[]) vars[v.variable] = get(v.value_selector) ?? null;
  return vars;
}

export const templateTransform: NodeExecutor = async ({ node, pool }) => {
  const inputs = templateVariables(node, (s) => pool.get(s));
  let output: string;
  try {
    output = compileTemplate(String(node.data.template ?? "")).render(inputs);
  } catch (err) {
    throw new NodeFailure(`Template error: ${(err as Error).message.split("\n").at(-1)?.trim()}`, "TemplateError");
  }
  if (output.length > MAX_OUTPUT) throw new NodeFailure(`Output length exceeds ${MAX_OUTPUT} characters`, "OutputTooLong");
  return { inputs, outputs: { output } };
};
