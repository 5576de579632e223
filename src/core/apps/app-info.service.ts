// What a web app shows before the first message: site, parameters, tool icons (behaviour.md 2.1).
import type { Db } from "../ports/database.js";
import type { App, Site } from "../../generated/prisma/client.js";
import { appUnavailable } from "../errors.js";
import type { ViewerCache } from "../auth/viewer-cache.js";
import type { Viewer } from "../auth/passport.service.js";
import { DEFAULT_FILES_CONFIG, type UploadLimits } from "../files/upload.service.js";
import { isWorkflowMode, userInputForm } from "./dsl.js";

/** Upload limits: sizes in MB, and how many files a workflow input takes. */
export type SystemParameters = { imageFileSizeMb: number; videoFileSizeMb: number; audioFileSizeMb: number; fileSizeMb: number; workflowFileCount: number };

// Dify's WORKFLOW_FILE_UPLOAD_LIMIT default; appgraph does not make it configurable.
const WORKFLOW_FILE_COUNT = 10;

/** What the app's pages are told, from the limits this deployment enforces (UPLOAD_*_FILE_SIZE_LIMIT). */
export function systemParameters(limits: UploadLimits): SystemParameters {
  const mb = (bytes: number) => bytes / (1024 * 1024);
  return {
    imageFileSizeMb: mb(limits.image),
    videoFileSizeMb: mb(limits.video),
    audioFileSizeMb: mb(limits.audio),
    fileSizeMb: mb(limits.other),
    workflowFileCount: WORKFLOW_FILE_COUNT,
  };
}

const disabled = { enabled: false };

/** The feature dictionary of the app: model config for classic apps, published workflow features otherwise. */
async function appFeatures(db: Db, app: App): Promise<{ features: Record<string, any>; form: Record<string, unknown>[] }> {
  if (isWorkflowMode(app.mode)) {
    const workflow = app.workflowId
      ? await db.workflow.findUnique({ where: { id: app.workflowId }, select: { features: true, graph: true } })
      : null;
    if (!workflow) throw appUnavailable();
    return { features: (workflow.features ?? {}) as Record<string, any>, form: userInputForm(app.mode, null, workflow.graph) };
  }
  if (!app.modelConfig) throw appUnavailable();
  return { features: app.modelConfig as Record<string, any>, form: userInputForm(app.mode, app.modelConfig, null) };
}

/** What the app asks for and offers before the first message (Dify's /parameters, feature by feature). */
export type AppParameters = {
  openingStatement: string | null;
  suggestedQuestions: string[];
  /** The user input form as the DSL declares it: one `{ <type>: spec }` entry per variable. */
  userInputForm: Record<string, unknown>[];
  /** Feature switches and their settings, as the DSL declares them (`{ enabled, ... }`). */
  suggestedQuestionsAfterAnswer: Record<string, unknown>;
  speechToText: Record<string, unknown>;
  textToSpeech: Record<string, unknown>;
  retrieverResource: Record<string, unknown>;
  annotationReply: Record<string, unknown>;
  moreLikeThis: Record<string, unknown>;
  sensitiveWordAvoidance: Record<string, unknown>;
  fileUpload: Record<string, unknown>;
  /** Upload limits in MB (and a count for workflow files). */
  systemParameters: SystemParameters;
};

async function appParameters(db: Db, app: App, system: SystemParameters): Promise<AppParameters> {
  const { features: f, form } = await appFeatures(db, app);
  return {
    openingStatement: f.opening_statement ?? null,
    suggestedQuestions: f.suggested_questions ?? [],
    userInputForm: form,
    suggestedQuestionsAfterAnswer: f.suggested_questions_after_answer ?? disabled,
    speechToText: f.speech_to_text ?? disabled,
    textToSpeech: f.text_to_speech ?? disabled,
    retrieverResource: f.retriever_resource ?? disabled,
    annotationReply: f.annotation_reply ?? disabled,
    moreLikeThis: f.more_like_this ?? disabled,
    sensitiveWordAvoidance: f.sensitive_word_avoidance ?? { enabled: false, type: "", configs: [] },
    fileUpload: f.file_upload ?? {
      image: { enabled: false, number_limits: 3, detail: "high", transfer_methods: ["remote_url", "local_file"] },
    },
    systemParameters: system,
  };
}

// Dify links builtin tool icons to its console, which appgraph does not serve: every tool gets Dify's own fallback icon.
const FALLBACK_TOOL_ICON = { background: "#252525", content: "\u{1F601}" };

export type ToolIcon = { background: string; content: string };

/** The icons of the tools the app uses, by tool name (Dify's /meta). */
async function toolIcons(db: Db, app: App): Promise<Record<string, ToolIcon>> {
  let tools: Record<string, any>[] = [];
  if (isWorkflowMode(app.mode)) {
    const workflow = app.workflowId ? await db.workflow.findUnique({ where: { id: app.workflowId }, select: { graph: true } }) : null;
    const nodes = ((workflow?.graph as any)?.nodes ?? []) as any[];
    tools = nodes.filter((n) => n?.data?.type === "tool").map((n) => n.data);
  } else {
    tools = ((app.modelConfig as any)?.agent_mode?.tools ?? []) as Record<string, any>[];
  }
  const icons: Record<string, ToolIcon> = {};
  for (const tool of tools) {
    if (typeof tool?.tool_name === "string" && (tool.provider_type === "builtin" || tool.provider_type === "api")) {
      icons[tool.tool_name] = FALLBACK_TOOL_ICON;
    }
  }
  return icons;
}

/**
 * What a web app shows before the first message. Every page load asks, so answers come from the
 * viewer cache: the same record object until the app changes (a surface may cache its rendering by it).
 */
export function appService({ db, viewers, files = DEFAULT_FILES_CONFIG }: { db: Db; viewers: ViewerCache; files?: { limits: UploadLimits } }) {
  const system = systemParameters(files.limits);
  return {
    /** The app and site of the viewer's passport. */
    site(viewer: Viewer): { app: App; site: Site } {
      return { app: viewer.app, site: viewer.site };
    },
    parameters(viewer: Viewer): Promise<AppParameters> {
      return viewers.memo(viewer.app.id, "parameters", () => appParameters(db, viewer.app, system));
    },
    toolIcons(viewer: Viewer): Promise<Record<string, ToolIcon>> {
      return viewers.memo(viewer.app.id, "tool-icons", () => toolIcons(db, viewer.app));
    },
  };
}

export type AppService = ReturnType<typeof appService>;


