// human-input: the first time, a form is created and the run pauses; when the run resumes, the node
// passes on the person's answer (inputs, `__action_id`) along the chosen action's edge, or `__timeout`.
import type { NodeExecutor } from "../engine.js";
import { PauseRequested } from "../engine.js";
import { fillFormOutputs, HUMAN_INPUT, type HumanInputRequest } from "../human-input.service.js";
import type { HumanInputRequired } from "../events.js";
import { textOf } from "../variable-pool.js";

const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const DEFAULT_TIMEOUT_MS = 36 * 3_600_000;

export function humanInput(requestInput: (r: HumanInputRequest) => Promise<HumanInputRequired>): NodeExecutor {
  return async ({ node, pool }) => {
    const answer = pool.get([HUMAN_INPUT, node.id]) as { action: string; inputs: Record<string, unknown> } | undefined;
    const template = String(node.data.form_content ?? "");
    if (answer) {
      const rendered = fillFormOutputs(pool.render(template), answer.inputs);
      return { outputs: { ...answer.inputs, __action_id: answer.action, __rendered_content: rendered }, handle: answer.action };
    }
    const resolvedDefaults: Record<string, string> = {};
    // An input without a default gets an empty constant one: Dify's form page crashes on null.
    const inputs = ((node.data.inputs ?? []) as Record<string, any>[]).map((i) => {
      const def = i.default ?? { type: "constant", selector: [], value: "" };
      resolvedDefaults[i.output_variable_name] = def.type === "variable" ? textOf(pool.get(def.selector)) : textOf(def.value ?? "");
      return { type: i.type ?? "text_input", output_variable_name: i.output_variable_name, default: { type: def.type ?? "constant", selector: def.selector ?? [], value: def.value ?? "" } };
    });
    const timeout = Number(node.data.timeout ?? 0);
    const unit = UNIT_MS[String(node.data.timeout_unit ?? "hour")] ?? UNIT_MS.hour;
    const form = await requestInput({
      node,
      renderedContent: pool.render(template),
      inputs,
      actions: ((node.data.user_actions ?? []) as any[]).map((a) => ({ id: String(a.id), title: String(a.title ?? a.id), button_style: String(a.button_style ?? "default") })),
      resolvedDefaults,
      expiration: new Date(Date.now() + (timeout > 0 ? timeout * unit : DEFAULT_TIMEOUT_MS)),
      displayInUi: node.data.delivery_methods?.some?.((m: any) => m.type === "webapp" && m.enabled) ?? true,
    });
    throw new PauseRequested({
      TYPE: "human_input_required",
      form_id: form.formId,
      form_content: form.formContent,
      inputs: form.inputs,
      actions: form.actions,
      node_id: form.nodeId,
      node_title: form.nodeTitle,
      resolved_default_values: form.resolvedDefaultValues,
      form_token: form.formToken,
      expiration_time: form.expirationTime,
    });
  };
}
