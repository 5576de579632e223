// Dify's app DSL (the YAML that Dify exports): parsing, validation with errors that name the field,
// and the reverse for export. Nothing here touches the database.
import YAML from "yaml";
import { z } from "zod";
import { invalidParam } from "../errors.js";
import { checkNodeTypes } from "../workflows/graph.js";

export const APP_MODES = ["chat", "completion", "agent-chat", "advanced-chat", "workflow"] as const;
export type AppMode = (typeof APP_MODES)[number];
export const isWorkflowMode = (mode: string) => mode === "workflow" || mode === "advanced-chat";

const json = z.record(z.string(), z.unknown());

// The user input form types Dify's start node and model_config know.
export const INPUT_TYPES = [
  "text-input", "paragraph", "select", "number", "checkbox", "file", "file-list", "json_object", "external_data_tool",
] as const;

const inputVariable = z.looseObject({
  variable: z.string().min(1),
  label: z.unknown().optional(),
  type: z.enum(INPUT_TYPES).optional(),
  required: z.boolean().optional(),
  max_length: z.number().nullish(),
  options: z.array(z.unknown()).nullish(),
  default: z.unknown().optional(),
});

const modelSpec = z.looseObject({
  provider: z.string().min(1),
  name: z.string().min(1),
  mode: z.string().optional(),
  completion_params: json.optional(),
});

const modelConfig = z.looseObject({
  model: modelSpec,
  pre_prompt: z.string().nullish(),
  opening_statement: z.string().nullish(),
  user_input_form: z
    .array(z.partialRecord(z.enum(INPUT_TYPES), inputVariable).refine((o) => Object.keys(o).length === 1, "must have exactly one key"))
    .nullish(),
});

const graphNode = z.looseObject({
  id: z.string().min(1),
  data: z.looseObject({ type: z.string().min(1), title: z.string().optional() }),
});
const graphEdge = z.looseObject({ id: z.string().optional(), source: z.string().min(1), target: z.string().min(1) });

const workflowSection = z.looseObject({
  graph: z.looseObject({ nodes: z.array(graphNode), edges: z.array(graphEdge).default([]) }),
  features: json.default({}),
  environment_variables: z.array(json).default([]),
  conversation_variables: z.array(json).default([]),
});

const dslSchema = z.looseObject({
  app: z.looseObject({
    name: z.string().min(1),
    mode: z.enum(APP_MODES),
    description: z.string().nullish(),
    icon: z.string().nullish(),
    icon_type: z.string().nullish(),
    icon_background: z.string().nullish(),
    use_icon_as_answer_icon: z.boolean().nullish(),
  }),
  kind: z.literal("app").optional(),
  version: z.union([z.string(), z.number()]).transform(String).optional(),
  dependencies: z.array(z.unknown()).nullish(),
  model_config: modelConfig.optional(),
  workflow: workflowSection.optional(),
});

export type AppDsl = z.infer<typeof dslSchema>;
export type ModelConfig = z.infer<typeof modelConfig>;
export type WorkflowSection = z.infer<typeof workflowSection>;

export type ParsedDsl = { dsl: AppDsl; warnings: string[] };

const fieldPath = (path: PropertyKey[]) =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`)).join("");

/** Parse and validate a DSL document. Throws invalid_param naming the field. */
export function parseDsl(text: string): ParsedDsl {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw invalidParam(`DSL is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw invalidParam("DSL must be a YAML mapping with an `app` section");
  const parsed = dslSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = fieldPath(issue.path);
    throw invalidParam(`DSL field ${field || "(root)"}: ${issue.message}`, field);
  }
  const dsl = parsed.data;
  const mode = dsl.app.mode;
  const warnings: string[] = [];
  if (isWorkflowMode(mode)) {
    if (!dsl.workflow) throw invalidParam(`DSL field workflow: required for ${mode} apps`, "workflow");
    validateGraph(dsl.workflow);
    warnings.push(...checkNodeTypes(dsl.workflow.graph));
  } else if (!dsl.model_config) {
    throw invalidParam(`DSL field model_config: required for ${mode} apps`, "model_config");
  }
  return { dsl, warnings: [...warnings, ...modelWarnings(dsl)] };
}

function validateGraph(workflow: WorkflowSection) {
  const ids = new Set<string>();
  workflow.graph.nodes.forEach((node, i) => {
    if (ids.has(node.id)) throw invalidParam(`DSL field workflow.graph.nodes[${i}].id: duplicate node id ${node.id}`);
    ids.add(node.id);
  });
  if (!workflow.graph.nodes.some((n) => n.data.type === "start")) {
    throw invalidParam("DSL field workflow.graph.nodes: no start node", "workflow.graph.nodes");
  }
  workflow.graph.edges.forEach((edge, i) => {
    for (const end of ["source", "target"] as const) {
      if (!ids.has(edge[end])) {
        const field = `workflow.graph.edges[${i}].${end}`;
        throw invalidParam(`DSL field ${field}: edge ${edge.id ?? i} points to unknown node ${edge[end]}`, field);
      }
    }
  });
}

/** Every model the app names, with where it is named. */
export function modelsOf(dsl: AppDsl): { field: string; provider: string; name: string }[] {
  const out: { field: string; provider: string; name: string }[] = [];
  if (dsl.model_config) out.push({ field: "model_config.model", ...dsl.model_config.model });
  dsl.workflow?.graph.nodes.forEach((node, i) => {
    const model = (node.data as any).model;
    if (model && typeof model.provider === "string" && typeof model.name === "string") {
      out.push({ field: `workflow.graph.nodes[${i}].data.model`, provider: model.provider, name: model.name });
    }
  });
  return out;
}

// The provider names that speak OpenAI's wire format themselves.
const OPENAI_COMPATIBLE = new Set(["openai", "langgenius/openai/openai", "openai_api_compatible", "langgenius/openai_api_compatible/openai_api_compatible"]);

function modelWarnings(dsl: AppDsl): string[] {
  const others = [...new Set(modelsOf(dsl).map((m) => m.provider).filter((p) => !OPENAI_COMPATIBLE.has(p)))];
  return others.map(
    (p) => `model provider ${p} is served by the configured OpenAI-compatible endpoint (OPENAI_BASE_URL) under the same model names`,
  );
}

/** The user input form in Dify's "old structure": `[{ "<type>": { variable, label, ... } }]`. */
export function userInputForm(mode: string, modelConfigJson: unknown, graph: unknown): Record<string, unknown>[] {
  if (!isWorkflowMode(mode)) {
    const form = (modelConfigJson as ModelConfig | null)?.user_input_form;
    return Array.isArray(form) ? form : [];
  }
  const nodes = ((graph as any)?.nodes ?? []) as any[];
  const start = nodes.find((n) => n?.data?.type === "start");
  const variables = (start?.data?.variables ?? []) as Record<string, unknown>[];
  return variables.map((v) => ({ [String(v.type ?? "text-input")]: v }));
}

export function stringifyDsl(doc: Record<string, unknown>): string {
  return YAML.stringify(doc, { lineWidth: 0 });
}
