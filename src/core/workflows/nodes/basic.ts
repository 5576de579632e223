// The nodes that only move values: start, end, answer, variable-aggregator.
import type { NodeExecutor } from "../engine.js";
import { markdownOf, VariablePool } from "../variable-pool.js";
import { filesAmong } from "../../files/request-files.js";

/** The run's inputs were validated and put in the pool under the start node's id before the run. */
export const start: NodeExecutor = async ({ node, pool }) => {
  const values = pool.ownerValues(node.id) ?? {};
  return { outputs: values, inputs: values };
};

export const end: NodeExecutor = async ({ node, pool }) => {
  const outputs: Record<string, unknown> = {};
  for (const o of (node.data.outputs ?? []) as { variable: string; value_selector: string[] }[]) {
    outputs[o.variable] = pool.get(o.value_selector) ?? null;
  }
  return { outputs, inputs: outputs };
};

/**
 * Chatflow answer: its text goes to the user as it resolves; what an LLM streamed already is not sent
 * twice. Values show as markdown, like Dify's answers (files as links, lists as bullets).
 */
export const answer: NodeExecutor = async (ctx) => {
  const full = ctx.pool.render(String(ctx.node.data.answer ?? ""), "markdown");
  let rest = "";
  for (const segment of ctx.unstreamedSegments()) rest += "text" in segment ? segment.text : markdownOf(ctx.pool.get(segment.selector));
  if (rest) await ctx.stream(rest);
  // The files it shows are the answer's files (Dify's answer node output), kept with the message.
  const shown = VariablePool.segments(String(ctx.node.data.answer ?? "")).flatMap((s) => ("selector" in s ? [ctx.pool.get(s.selector)] : []));
  return { outputs: { answer: full, files: filesAmong(shown) } };
};

/** The first variable that has a value (Dify: the branch that ran). Groups aggregate separately. */
export const variableAggregator: NodeExecutor = async ({ node, pool }) => {
  const first = (selectors: string[][]) => {
    for (const s of selectors ?? []) {
      const v = pool.get(s);
      if (v !== undefined && v !== null) return v;
    }
    return null;
  };
  const groups = node.data.advanced_settings?.group_enabled ? ((node.data.advanced_settings.groups ?? []) as any[]) : null;
  if (groups) {
    const outputs: Record<string, unknown> = {};
    for (const g of groups) outputs[g.group_name] = { output: first(g.variables) };
    return { outputs };
  }
  return { outputs: { output: first(node.data.variables) } };
};
