// What a web app shows before the first message: site, parameters, meta (behaviour.md 2.1).
import type { Db } from "../ports/database.js";
import type { App, Site } from "../../generated/prisma/client.js";
import { appUnavailable, forbidden } from "../errors.js";
import type { Viewer } from "../auth/passport.service.js";
import { isWorkflowMode, userInputForm } from "./dsl.js";

export function siteInfo(viewer: { app: App; site: Site | null; endUser: { id: string } | null }) {
  const { app, site } = viewer;
  if (!site) throw forbidden();
  return {
    app_id: app.id,
    end_user_id: viewer.endUser?.id ?? null,
    enable_site: app.enableSite,
    site: {
      title: site.title,
      chat_color_theme: site.chatColorTheme,
      chat_color_theme_inverted: site.chatColorThemeInverted,
      icon_type: site.iconType,
      icon: site.icon,
      icon_background: site.iconBackground,
      // Image icons need signed file URLs, which come with file storage; emoji and link icons need none.
      icon_url: site.iconType === "link" ? site.icon : null,
      description: site.description,
      copyright: site.copyright,
      privacy_policy: site.privacyPolicy,
      custom_disclaimer: site.customDisclaimer,
      default_language: site.defaultLanguage,
      prompt_public: site.promptPublic,
      show_workflow_steps: site.showWorkflowSteps,
      use_icon_as_answer_icon: site.useIconAsAnswerIcon,
    },
    model_config: null,
    plan: "basic",
    can_replace_logo: false,
    custom_config: null,
  };
}

/** The limits Dify reports under `system_parameters` (MB, and a count for workflow files). */
export const SYSTEM_PARAMETERS = {
  image_file_size_limit: 10,
  video_file_size_limit: 100,
  audio_file_size_limit: 50,
  file_size_limit: 15,
  workflow_file_upload_limit: 10,
};

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

export async function appParameters(db: Db, app: App) {
  const { features: f, form } = await appFeatures(db, app);
  return {
    opening_statement: f.opening_statement ?? null,
    suggested_questions: f.suggested_questions ?? [],
    suggested_questions_after_answer: f.suggested_questions_after_answer ?? disabled,
    speech_to_text: f.speech_to_text ?? disabled,
    text_to_speech: f.text_to_speech ?? disabled,
    retriever_resource: f.retriever_resource ?? disabled,
    annotation_reply: f.annotation_reply ?? disabled,
    more_like_this: f.more_like_this ?? disabled,
    user_input_form: form,
    sensitive_word_avoidance: f.sensitive_word_avoidance ?? { enabled: false, type: "", configs: [] },
    file_upload: f.file_upload ?? {
      image: { enabled: false, number_limits: 3, detail: "high", transfer_methods: ["remote_url", "local_file"] },
    },
    system_parameters: SYSTEM_PARAMETERS,
  };
}

// Dify links builtin tool icons to its console, which appgraph does not serve: every tool gets Dify's own fallback icon.
const FALLBACK_TOOL_ICON = { background: "#252525", content: "\u{1F601}" };

/** GET /api/meta: the icons of the tools the app uses. */
export async function appMeta(db: Db, app: App) {
  let tools: Record<string, any>[] = [];
  if (isWorkflowMode(app.mode)) {
    const workflow = app.workflowId ? await db.workflow.findUnique({ where: { id: app.workflowId }, select: { graph: true } }) : null;
    const nodes = ((workflow?.graph as any)?.nodes ?? []) as any[];
    tools = nodes.filter((n) => n?.data?.type === "tool").map((n) => n.data);
  } else {
    tools = ((app.modelConfig as any)?.agent_mode?.tools ?? []) as Record<string, any>[];
  }
  const tool_icons: Record<string, unknown> = {};
  for (const tool of tools) {
    if (typeof tool?.tool_name === "string" && (tool.provider_type === "builtin" || tool.provider_type === "api")) {
      tool_icons[tool.tool_name] = FALLBACK_TOOL_ICON;
    }
  }
  return { tool_icons };
}


