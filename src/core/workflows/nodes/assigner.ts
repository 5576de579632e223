// variable-assigner ("assigner"): writes to conversation variables (chatflows) and loop variables.
// Version 2 nodes list `items` with an operation each; version 1 nodes have one assignment.
import type { NodeExecutor } from "../engine.js";
import { NodeFailure } from "../engine.js";
import type { VariablePool } from "../variable-pool.js";

type Item = { variable_selector: string[]; input_type?: "constant" | "variable"; operation: string; value?: unknown };

function apply(current: unknown, operation: string, value: unknown): unknown {
  const n = (v: unknown) => (typeof v === "number" ? v : Number(v));
  switch (operation) {
    case "over-write":
    case "set":
      return value;
    case "clear":
      return Array.isArray(current) ? [] : typeof current === "number" ? 0 : typeof current === "object" && current ? {} : "";
    case "+=":
      return n(current) + n(value);
    case "-=":
      return n(current) - n(value);
    case "*=":
      return n(current) * n(value);
    case "/=":
      if (n(value) === 0) throw new NodeFailure("Division by zero in variable assigner.", "InvalidOperation");
      return n(current) / n(value);
    case "append":
      return [...(Array.isArray(current) ? current : []), value];
    case "extend":
      return [...(Array.isArray(current) ? current : []), ...(Array.isArray(value) ? value : [value])];
    case "remove-first":
      return Array.isArray(current) ? current.slice(1) : current;
    case "remove-last":
      return Array.isArray(current) ? current.slice(0, -1) : current;
    default:
      throw new NodeFailure(`Unknown assigner operation ${JSON.stringify(operation)}`, "InvalidOperation");
  }
}

function assign(pool: VariablePool, selector: string[], operation: string, value: unknown) {
  if (!selector || selector.length < 2) throw new NodeFailure("The assigner names no variable.", "InvalidSelector");
  const [owner, name] = selector;
  pool.setOne(owner, name, apply(pool.get([owner, name]), operation, value));
}

export const assigner: NodeExecutor = async ({ node, pool }) => {
  const written: Record<string, unknown> = {};
  if (Array.isArray(node.data.items)) {
    for (const item of node.data.items as Item[]) {
      const value = item.input_type === "variable" ? pool.get(item.value as string[]) : item.value;
      assign(pool, item.variable_selector, item.operation, value);
      written[item.variable_selector.join(".")] = pool.get(item.variable_selector);
    }
  } else {
    const target = node.data.assigned_variable_selector as string[];
    const mode = String(node.data.write_mode ?? "over-write");
    assign(pool, target, mode, pool.get(node.data.input_variable_selector));
    written[target.join(".")] = pool.get(target);
  }
  return { outputs: {}, processData: { updated: written } };
};
