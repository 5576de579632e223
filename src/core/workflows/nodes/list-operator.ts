// list-operator: filter, order, limit and pick from a list (Dify's operators on items or on a key of each).
import type { NodeExecutor } from "../engine.js";
import { NodeFailure } from "../engine.js";
import { compare } from "./if-else.js";

const keyOf = (item: unknown, key: string | undefined) =>
  key && item !== null && typeof item === "object" ? (item as Record<string, unknown>)[key] : item;

export const listOperator: NodeExecutor = async ({ node, pool }) => {
  const value = pool.get(node.data.variable);
  if (value === null || value === undefined) return { outputs: { result: [], first_record: null, last_record: null } };
  if (!Array.isArray(value)) throw new NodeFailure("The list operator's input is not a list.", "InvalidInput");
  let list = [...value];
  const d = node.data;
  if (d.filter_by?.enabled) {
    for (const c of (d.filter_by.conditions ?? []) as { key?: string; comparison_operator: string; value: unknown }[]) {
      const want = typeof c.value === "string" ? pool.render(c.value) : c.value;
      list = list.filter((item) => compare(keyOf(item, c.key), c.comparison_operator, want));
    }
  }
  if (d.extract_by?.enabled) {
    const serial = Number(pool.render(String(d.extract_by.serial ?? "1")));
    if (!Number.isInteger(serial) || serial < 1 || serial > list.length) throw new NodeFailure(`Serial ${serial} is out of range.`, "InvalidSerial");
    list = [list[serial - 1]];
  }
  if (d.order_by?.enabled) {
    const dir = d.order_by.value === "desc" ? -1 : 1;
    list.sort((a, b) => {
      const x = keyOf(a, d.order_by.key) as any;
      const y = keyOf(b, d.order_by.key) as any;
      return (x > y ? 1 : x < y ? -1 : 0) * dir;
    });
  }
  if (d.limit?.enabled) list = list.slice(0, Math.max(0, Number(d.limit.size ?? 0)));
  return { inputs: { variable: value }, outputs: { result: list, first_record: list[0] ?? null, last_record: list.at(-1) ?? null } };
};
