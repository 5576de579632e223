// The nodes that ask the model for a structured answer: question-classifier and parameter-extractor.
import type { ChatMessage, ModelProvider } from "../../ports/model.js";
import type { NodeExecutor } from "../engine.js";
import { NodeFailure } from "../engine.js";
import { textOf } from "../variable-pool.js";

/** The first JSON object in a model's text (models like to wrap it in prose or fences). */
export function firstJsonObject(text: string): Record<string, unknown> | null {
  const start = text.indexOf("{");
  for (let end = text.lastIndexOf("}"); start >= 0 && end > start; end = text.lastIndexOf("}", end - 1)) {
    try {
      const value = JSON.parse(text.slice(start, end + 1));
      if (value && typeof value === "object" && !Array.isArray(value)) return value;
    } catch {
      // try a shorter span
    }
  }
  return null;
}

async function ask(models: ModelProvider, node: { data: Record<string, any> }, messages: ChatMessage[], signal: AbortSignal) {
  const model = node.data.model ?? {};
  if (!model.name) throw new NodeFailure("The node names no model.", "ModelMissing");
  return models.complete({ model: model.name, messages, params: { ...(model.completion_params ?? {}), temperature: 0 }, signal });
}

export function questionClassifier(models: ModelProvider): NodeExecutor {
  return async ({ node, pool, signal }) => {
    const classes = (node.data.classes ?? []) as { id: string; name: string }[];
    if (!classes.length) throw new NodeFailure("The classifier has no classes.", "NoClasses");
    const query = textOf(pool.get(node.data.query_variable_selector));
    const instruction = pool.render(String(node.data.instruction ?? ""));
    const messages: ChatMessage[] = [
      {
        role: "system",
        content:
          "You are a text classification engine. Classify the input into exactly one of the categories. " +
          'Answer with JSON only: {"category_id": "<id>", "category_name": "<name>"}.\n' +
          `Categories: ${JSON.stringify(classes.map((c) => ({ category_id: c.id, category_name: c.name })))}` +
          (instruction ? `\nClassification instructions: ${instruction}` : ""),
      },
      { role: "user", content: query },
    ];
    const { text, usage } = await ask(models, node, messages, signal);
    const answer = firstJsonObject(text);
    // Like Dify, an answer naming no known class falls to the first one.
    const chosen = classes.find((c) => c.id === String(answer?.category_id ?? "")) ?? classes.find((c) => c.name === answer?.category_name) ?? classes[0];
    return {
      inputs: { query },
      processData: { prompts: messages, model_output: text },
      outputs: { class_name: chosen.name, class_id: chosen.id, usage: { total_tokens: usage.totalTokens } },
      handle: chosen.id,
      usage,
    };
  };
}

type Parameter = { name: string; type: string; description?: string; required?: boolean; options?: string[] };

function coerce(p: Parameter, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  switch (p.type) {
    case "number":
      return typeof value === "number" ? value : Number.isFinite(Number(value)) ? Number(value) : null;
    case "bool":
    case "boolean":
      return typeof value === "boolean" ? value : ["true", "yes", "1"].includes(String(value).toLowerCase());
    case "string":
    case "select":
      return typeof value === "string" ? value : JSON.stringify(value);
    default:
      return p.type.startsWith("array") ? (Array.isArray(value) ? value : [value]) : value;
  }
}

export function parameterExtractor(models: ModelProvider): NodeExecutor {
  return async ({ node, pool, signal }) => {
    const parameters = (node.data.parameters ?? []) as Parameter[];
    const query = textOf(pool.get(node.data.query));
    const instruction = pool.render(String(node.data.instruction ?? ""));
    const schema = Object.fromEntries(parameters.map((p) => [p.name, { type: p.type, description: p.description ?? "", required: Boolean(p.required), ...(p.options?.length ? { enum: p.options } : {}) }]));
    const messages: ChatMessage[] = [
      {
        role: "system",
        content:
          "Extract the parameters described by this schema from the user's text. Answer with one JSON object only, " +
          `whose keys are the parameter names.\nSchema: ${JSON.stringify(schema)}` +
          (instruction ? `\nInstructions: ${instruction}` : ""),
      },
      { role: "user", content: query },
    ];
    const { text, usage } = await ask(models, node, messages, signal);
    const answer = firstJsonObject(text) ?? {};
    const outputs: Record<string, unknown> = {};
    const missing: string[] = [];
    for (const p of parameters) {
      outputs[p.name] = coerce(p, answer[p.name]);
      if (p.required && (outputs[p.name] === null || outputs[p.name] === "")) missing.push(p.name);
    }
    outputs.__is_success = missing.length === 0 ? 1 : 0;
    outputs.__reason = missing.length ? `Missing required parameters: ${missing.join(", ")}` : null;
    outputs.__usage = { total_tokens: usage.totalTokens };
    return { inputs: { query }, processData: { prompts: messages, model_output: text }, outputs, usage };
  };
}
