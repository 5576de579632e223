// iteration and loop: containers whose child nodes run as a sub-graph, once per item or round.
import type { NodeExecutor } from "../engine.js";
import { NodeFailure } from "../engine.js";
import { forkPool } from "../variable-pool.js";
import { evaluateCase } from "./if-else.js";

/** iteration: the sub-graph once per item of `iterator_selector`; `output` collects `output_selector`. */
export const iteration: NodeExecutor = async (ctx) => {
  const { node, pool } = ctx;
  const items = pool.get(node.data.iterator_selector);
  if (items === null || items === undefined) return { outputs: { output: [] } };
  if (!Array.isArray(items)) throw new NodeFailure("The iteration's input is not a list.", "IteratorVariableNotList");
  const mode = node.data.error_handle_mode ?? "terminated";
  await ctx.containerEvent("started", { inputs: { iterator_selector: items } });
  const runOne = async (item: unknown, index: number) => {
    const round = forkPool(pool);
    round.set(node.id, { item, index });
    await ctx.containerEvent("next", { index });
    const outcome = await ctx.runContainer(node.id, round, index);
    if (outcome.status === "stopped") throw new NodeFailure("Stopped by user.");
    // Conversation variables written in a round are the chatflow's, not the round's.
    const conversation = round.ownerValues("conversation");
    if (conversation) pool.set("conversation", conversation);
    if (outcome.status === "failed") {
      if (mode === "terminated") throw new NodeFailure(`Iteration ${index} failed: ${outcome.error}`, "IterationNodeError");
      return { ok: false as const };
    }
    return { ok: true as const, value: round.get(node.data.output_selector) ?? null };
  };
  const results: { ok: boolean; value?: unknown }[] = [];
  if (node.data.is_parallel) {
    const width = Math.max(1, Math.min(Number(node.data.parallel_nums ?? 10), 100));
    for (let i = 0; i < items.length; i += width) {
      results.push(...(await Promise.all(items.slice(i, i + width).map((item, j) => runOne(item, i + j)))));
    }
  } else {
    for (let i = 0; i < items.length; i++) results.push(await runOne(items[i], i));
  }
  const output =
    mode === "remove-abnormal-output" ? results.filter((r) => r.ok).map((r) => r.value) : results.map((r) => (r.ok ? r.value : null));
  await ctx.containerEvent("completed", { outputs: { output }, steps: items.length });
  return { inputs: { iterator_selector: items }, outputs: { output } };
};

type LoopVariable = { label: string; var_type?: string; value_type?: "constant" | "variable"; value: unknown };

function initial(v: LoopVariable, get: (s: string[]) => unknown): unknown {
  if (v.value_type === "variable") return get(v.value as string[]) ?? null;
  if (v.var_type === "number" && typeof v.value === "string" && v.value.trim() !== "") return Number(v.value);
  if (v.var_type?.startsWith("array") && typeof v.value === "string") {
    try {
      return JSON.parse(v.value);
    } catch {
      return [];
    }
  }
  return v.value;
}

/** loop: the sub-graph round after round until a break condition holds, a loop-end node runs, or loop_count. */
export const loop: NodeExecutor = async (ctx) => {
  const { node, pool } = ctx;
  const max = Math.max(0, Math.min(Number(node.data.loop_count ?? 10), 1000));
  const vars: Record<string, unknown> = {};
  for (const v of (node.data.loop_variables ?? []) as LoopVariable[]) vars[v.label] = initial(v, (s) => pool.get(s));
  pool.set(node.id, vars);
  const breakCase = { logical_operator: node.data.logical_operator, conditions: node.data.break_conditions ?? [] };
  const shouldBreak = () => breakCase.conditions.length > 0 && evaluateCase(pool, breakCase);
  await ctx.containerEvent("started", { inputs: { ...vars } });
  let rounds = 0;
  while (rounds < max && !shouldBreak()) {
    const round = forkPool(pool);
    round.set(node.id, { ...pool.ownerValues(node.id), index: rounds });
    await ctx.containerEvent("next", { index: rounds });
    const outcome = await ctx.runContainer(node.id, round, rounds);
    rounds++;
    if (outcome.status === "stopped") throw new NodeFailure("Stopped by user.");
    if (outcome.status === "failed") throw new NodeFailure(`Loop round ${rounds} failed: ${outcome.error}`, "LoopNodeError");
    // Loop variables (and conversation variables) written in the round carry over.
    const { index: _index, ...next } = (round.ownerValues(node.id) ?? {}) as Record<string, unknown>;
    pool.set(node.id, next);
    const conversation = round.ownerValues("conversation");
    if (conversation) pool.set("conversation", conversation);
    if (outcome.ended) break;
  }
  const { index: _i, ...outputs } = (pool.ownerValues(node.id) ?? {}) as Record<string, unknown>;
  await ctx.containerEvent("completed", { outputs, steps: rounds });
  return { inputs: vars, outputs: { ...outputs, loop_round: rounds } };
};

/** loop-end: ends the loop after the current round. */
export const loopEnd: NodeExecutor = async () => ({ outputs: {} });
