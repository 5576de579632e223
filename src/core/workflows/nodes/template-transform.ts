// template-transform: Dify renders the node's Jinja2 template in its sandbox; appgraph renders it
// with the sandboxed interpreter in ../jinja (no code generation, nothing of the host reachable).
import type { NodeExecutor } from "../engine.js";
import { NodeFailure } from "../engine.js";
import { renderTemplate, TemplateError } from "../jinja/render.js";

const MAX_OUTPUT = 400_000; // Dify caps the output at 400,000 characters

export function templateVariables(node: { data: Record<string, any> }, get: (s: string[]) => unknown) {
  const vars: Record<string, unknown> = {};
  // A variable whose value is missing is None, as in Dify (and prints "None").
  for (const v of (node.data.variables ?? []) as { variable: string; value_selector: string[] }[]) vars[v.variable] = get(v.value_selector) ?? null;
  return vars;
}

/** Renders app-authored Jinja2; a template that fails fails its node with the template's error. */
export function renderJinja(template: string, variables: Record<string, unknown>): string {
  try {
    return renderTemplate(template, variables);
  } catch (err) {
    if (err instanceof TemplateError) throw new NodeFailure(`Template error: ${err.message}`, "TemplateError");
    throw err;
  }
}

export const templateTransform: NodeExecutor = async ({ node, pool }) => {
  const inputs = templateVariables(node, (s) => pool.get(s));
  const output = renderJinja(String(node.data.template ?? ""), inputs);
  if (output.length > MAX_OUTPUT) throw new NodeFailure(`Output length exceeds ${MAX_OUTPUT} characters`, "OutputTooLong");
  return { inputs, outputs: { output } };
};
