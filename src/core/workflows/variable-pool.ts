// The values a run has produced, addressed as Dify addresses them: selectors like
// ["node_id", "text"], ["sys", "query"], ["env", "API_BASE"], ["conversation", "memory"],
// optionally followed by object keys, and `{{#node_id.text#}}` references inside text.

const REFERENCE = /\{\{#([a-zA-Z0-9_]{1,50}(?:\.[a-zA-Z_0-9][a-zA-Z0-9_]{0,29}){1,10})#\}\}/g;

export class VariablePool {
  private readonly values = new Map<string, Record<string, unknown>>();

  constructor(initial: Record<string, Record<string, unknown>> = {}) {
    for (const [owner, vars] of Object.entries(initial)) this.values.set(owner, { ...vars });
  }

  /** Record a node's outputs (or sys/env/conversation variables). */
  set(owner: string, variables: Record<string, unknown>) {
    this.values.set(owner, { ...(this.values.get(owner) ?? {}), ...variables });
  }

  setOne(owner: string, name: string, value: unknown) {
    this.set(owner, { [name]: value });
  }

  get(selector: readonly string[] | null | undefined): unknown {
    if (!selector || selector.length < 2) return undefined;
    const [owner, name, ...path] = selector;
    let value: unknown = this.values.get(owner)?.[name];
    for (const key of path) {
      if (value === null || typeof value !== "object") return undefined;
      value = (value as Record<string, unknown>)[key];
    }
    return value;
  }

  ownerValues(owner: string): Record<string, unknown> | undefined {
    return this.values.get(owner);
  }

  /** Replace every `{{#a.b#}}` with the value's text (unknown references become ""). */
  render(template: string): string {
    return template.replace(REFERENCE, (_whole, path: string) => textOf(this.get(path.split("."))));
  }

  /** The template split into text and references, for streaming through answer and end nodes. */
  static segments(template: string): ({ text: string } | { selector: string[] })[] {
    const out: ({ text: string } | { selector: string[] })[] = [];
    let last = 0;
    for (const m of template.matchAll(REFERENCE)) {
      if (m.index! > last) out.push({ text: template.slice(last, m.index) });
      out.push({ selector: m[1].split(".") });
      last = m.index! + m[0].length;
    }
    if (last < template.length) out.push({ text: template.slice(last) });
    return out;
  }

  /** Everything, for persisting a paused run. */
  snapshot(): Record<string, Record<string, unknown>> {
    return Object.fromEntries(this.values);
  }
}

/** A value as text, the way Dify's segments render themselves. */
export function textOf(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** A copy for one iteration or loop round: writes stay in the copy. */
export function forkPool(pool: VariablePool): VariablePool {
  return new VariablePool(structuredClone(pool.snapshot()));
}
