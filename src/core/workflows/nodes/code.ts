// code: the node's python3 or javascript `main`, in the sandbox, with its declared inputs; the
// returned object's keys must cover the declared outputs.
import type { NodeExecutor } from "../engine.js";
import { NodeFailure } from "../engine.js";
import type { Sandbox } from "../../ports/sandbox.js";

export function code(sandbox: () => Sandbox): NodeExecutor {
  return async ({ node, pool }) => {
    const language = node.data.code_language;
    if (language !== "python3" && language !== "javascript") throw new NodeFailure(`Unsupported code language ${JSON.stringify(language)}`, "CodeLanguage");
    const inputs: Record<string, unknown> = {};
    for (const v of (node.data.variables ?? []) as { variable: string; value_selector: string[] }[]) inputs[v.variable] = pool.get(v.value_selector) ?? null;
    let result: Record<string, unknown>;
    try {
      result = await sandbox().run({ language, code: String(node.data.code ?? ""), inputs });
    } catch (err) {
      throw new NodeFailure((err as Error).message, "CodeNodeError");
    }
    for (const name of Object.keys(node.data.outputs ?? {})) {
      if (!(name in result)) throw new NodeFailure(`Output ${name} is missing from the code's result.`, "OutputValidationError");
    }
    return { inputs, outputs: result };
  };
}
