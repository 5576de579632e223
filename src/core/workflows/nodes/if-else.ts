// if-else: Dify's cases, each a list of conditions joined by and/or; the first case that holds wins,
// else the "false" handle.
import type { NodeExecutor } from "../engine.js";
import type { VariablePool } from "../variable-pool.js";

type Condition = { variable_selector: string[]; comparison_operator: string; value?: unknown; varType?: string };
type Case = { case_id?: string; id?: string; logical_operator?: "and" | "or"; conditions: Condition[] };

const isEmpty = (v: unknown) =>
  v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0) || (typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 0);

function expected(pool: VariablePool, value: unknown): unknown {
  return typeof value === "string" ? pool.render(value) : value;
}

const num = (v: unknown) => (typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN);

export function compare(actual: unknown, operator: string, want: unknown): boolean {
  switch (operator) {
    case "contains":
      return Array.isArray(actual) ? actual.map(String).includes(String(want)) : typeof actual === "string" && actual.includes(String(want ?? ""));
    case "not contains":
      return !compare(actual, "contains", want);
    case "start with":
      return typeof actual === "string" && actual.startsWith(String(want ?? ""));
    case "end with":
      return typeof actual === "string" && actual.endsWith(String(want ?? ""));
    case "is":
      return actual !== null && actual !== undefined && String(typeof actual === "object" ? JSON.stringify(actual) : actual) === String(want ?? "");
    case "is not":
      return !compare(actual, "is", want);
    case "empty":
      return isEmpty(actual);
    case "not empty":
      return !isEmpty(actual);
    case "in":
      return Array.isArray(want) ? want.map(String).includes(String(actual)) : false;
    case "not in":
      return !compare(actual, "in", want);
    case "all of":
      return Array.isArray(actual) && Array.isArray(want) && want.every((w) => actual.map(String).includes(String(w)));
    case "=":
      return num(actual) === num(want);
    case "≠":
    case "!=":
      return !Number.isNaN(num(actual)) && num(actual) !== num(want);
    case ">":
      return num(actual) > num(want);
    case "<":
      return num(actual) < num(want);
    case "≥":
    case ">=":
      return num(actual) >= num(want);
    case "≤":
    case "<=":
      return num(actual) <= num(want);
    case "null":
      return actual === null || actual === undefined;
    case "not null":
      return actual !== null && actual !== undefined;
    case "exists":
      return actual !== null && actual !== undefined;
    case "not exists":
      return actual === null || actual === undefined;
    default:
      throw new Error(`Unknown comparison operator ${JSON.stringify(operator)}`);
  }
}

export function evaluateCase(pool: VariablePool, c: Pick<Case, "logical_operator" | "conditions">): boolean {
  const results = (c.conditions ?? []).map((cond) => compare(pool.get(cond.variable_selector), cond.comparison_operator, expected(pool, cond.value)));
  return c.logical_operator === "or" ? results.some(Boolean) : results.every(Boolean);
}

export const ifElse: NodeExecutor = async ({ node, pool }) => {
  // Old exports have one implicit case at the top level.
  const cases: Case[] = node.data.cases ?? [{ case_id: "true", logical_operator: node.data.logical_operator, conditions: node.data.conditions ?? [] }];
  for (const c of cases) {
    if (evaluateCase(pool, c)) {
      const id = c.case_id ?? c.id ?? "true";
      return { outputs: { result: true, selected_case_id: id }, handle: id };
    }
  }
  return { outputs: { result: false, selected_case_id: "false" }, handle: "false" };
};
