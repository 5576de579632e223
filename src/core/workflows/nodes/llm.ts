// llm: the node's prompt (messages with roles, `{{#…#}}` references, `{{#context#}}`, Jinja2 when the
// message says so), chatflow memory (a window of the conversation), streamed when an answer or end
// node shows its text directly.
import type { ChatMessage, ChatRole, ModelProvider } from "../../ports/model.js";
import { withImages } from "../../chat/model-messages.js";
import type { FileValue } from "../../files/file-refs.js";
import { imagesOf, type ModelImages } from "../../files/model-images.js";
import { AppError } from "../../errors.js";
import type { NodeExecutor } from "../engine.js";
import { NodeFailure } from "../engine.js";
import type { VariablePool } from "../variable-pool.js";
import { textOf } from "../variable-pool.js";
import { pyJson, pyStr } from "../python-format.js";
import type { HistoryTurn } from "../../chat/turn.js";
import { renderJinja } from "./template-transform.js";

type PromptMessage = { role?: string; text?: string; edition_type?: string; jinja2_text?: string };

function renderText(pool: VariablePool, context: string, message: PromptMessage, jinjaVars: Record<string, unknown>): string {
  if (message.edition_type === "jinja2") return renderJinja(message.jinja2_text ?? message.text ?? "", jinjaVars);
  return pool.render(String(message.text ?? "").replaceAll("{{#context#}}", context));
}

/** A dict as Dify's LLM node gives it to Jinja2: a retrieved chunk as its content, others as JSON. */
function dictText(d: Record<string, any>): string {
  const metadata = d.metadata;
  if (metadata && typeof metadata === "object" && "_source" in metadata && "content" in d) return pyStr(d.content);
  return pyJson(d);
}

/** Dify's LLM node gives Jinja2 prompts text: list items one a line, dicts as JSON, the rest as text. */
export function jinjaInput(value: unknown): string {
  const isDict = (v: unknown): v is Record<string, any> => !!v && typeof v === "object" && !Array.isArray(v);
  if (Array.isArray(value)) return value.map((item) => (isDict(item) ? dictText(item) : pyStr(item ?? null))).join("\n").trim();
  if (isDict(value) && value.dify_model_identity !== "__dify__file__") return dictText(value);
  return textOf(value);
}

export type LlmDeps = {
  models: ModelProvider;
  /** The conversation so far, oldest first (chatflows); empty for workflow apps. */
  history: HistoryTurn[];
  /** The run's images: the model gets them as data URLs, never as URLs to fetch. */
  images: ModelImages;
};

/** The node's vision files (default sys.files), when it has vision on. */
function visionFiles(data: Record<string, any>, pool: VariablePool): FileValue[] {
  return data.vision?.enabled ? imagesOf(pool.get(data.vision.configs?.variable_selector ?? ["sys", "files"])) : [];
}

export function buildLlmMessages(node: { data: Record<string, any> }, pool: VariablePool, history: HistoryTurn[]): ChatMessage[] {
  const data = node.data;
  const context = data.context?.enabled ? textOf(pool.get(data.context.variable_selector)) : "";
  const jinjaVars: Record<string, unknown> = {};
  for (const v of (data.prompt_config?.jinja2_variables ?? []) as { variable: string; value_selector: string[] }[]) {
    jinjaVars[v.variable] = jinjaInput(pool.get(v.value_selector));
  }
  const template = data.prompt_template;
  // Completion-mode nodes have a single prompt object instead of messages.
  const messages: ChatMessage[] = (Array.isArray(template) ? template : [{ role: "user", ...(template ?? {}) }])
    .map((m: PromptMessage) => ({ role: (["system", "user", "assistant"].includes(m.role ?? "") ? m.role : "user") as ChatRole, content: renderText(pool, context, m, jinjaVars) }))
    .filter((m) => m.content.trim() !== "");
  const window = data.memory?.window;
  if (data.memory && history.length) {
    const size = window?.enabled ? Math.max(0, Number(window.size ?? 0)) : history.length;
    const turns = history.slice(-size).flatMap((t): ChatMessage[] => [
      { role: "user", content: t.query },
      { role: "assistant", content: t.answer },
    ]);
    const firstNonSystem = messages.findIndex((m) => m.role !== "system");
    messages.splice(firstNonSystem < 0 ? messages.length : firstNonSystem, 0, ...turns);
  }
  if (data.memory) {
    const query = pool.render(String(data.memory.query_prompt_template || "{{#sys.query#}}")).trim();
    if (query) messages.push({ role: "user", content: query });
  }
  if (!messages.length) throw new NodeFailure("The LLM node's prompt is empty.", "EmptyPrompt");
  // Vision: the node's image files go with the last user message, as image parts.
  return withImages(messages, visionFiles(data, pool).map((f) => f.url), data.vision?.configs?.detail);
}

export function llm(deps: LlmDeps): NodeExecutor {
  return async (ctx) => {
    const model = ctx.node.data.model ?? {};
    if (!model.name) throw new NodeFailure("The LLM node names no model.", "ModelMissing");
    const messages = buildLlmMessages(ctx.node, ctx.pool, deps.history);
    let sent: ChatMessage[];
    try {
      sent = await deps.images.inline(messages, visionFiles(ctx.node.data, ctx.pool), ctx.signal);
    } catch (err) {
      if (err instanceof AppError) throw new NodeFailure(err.message, "RemoteFileError");
      throw err;
    }
    let text = "";
    let usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
    // The recorded prompts (processData) name images by URL; only the model sees their bytes.
    for await (const event of deps.models.stream({ model: model.name, messages: sent, params: model.completion_params, signal: ctx.signal })) {
      if (event.type === "delta") {
        text += event.text;
        if (ctx.streamsText) await ctx.stream(event.text);
      } else usage = event.usage;
    }
    return {
      inputs: {},
      processData: { prompts: messages, model_mode: model.mode ?? "chat", model_name: model.name },
      outputs: { text, usage: { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens }, finish_reason: "stop" },
      usage,
    };
  };
}
