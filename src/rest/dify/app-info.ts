// Dify's site, parameters and meta objects (behaviour.md 2.1).
import type { App, Site } from "../../generated/prisma/client.js";
import type { AppParameters, ToolIcon } from "../../core/apps/app-info.service.js";

export function siteJson(app: App, site: Site, endUserId: string | null) {
  return {
    app_id: app.id,
    end_user_id: endUserId,
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

export const parametersJson = (p: AppParameters) => ({
  opening_statement: p.openingStatement,
  suggested_questions: p.suggestedQuestions,
  suggested_questions_after_answer: p.suggestedQuestionsAfterAnswer,
  speech_to_text: p.speechToText,
  text_to_speech: p.textToSpeech,
  retriever_resource: p.retrieverResource,
  annotation_reply: p.annotationReply,
  more_like_this: p.moreLikeThis,
  user_input_form: p.userInputForm,
  sensitive_word_avoidance: p.sensitiveWordAvoidance,
  file_upload: p.fileUpload,
  system_parameters: {
    image_file_size_limit: p.systemParameters.imageFileSizeMb,
    video_file_size_limit: p.systemParameters.videoFileSizeMb,
    audio_file_size_limit: p.systemParameters.audioFileSizeMb,
    file_size_limit: p.systemParameters.fileSizeMb,
    workflow_file_upload_limit: p.systemParameters.workflowFileCount,
  },
});

export const metaJson = (toolIcons: Record<string, ToolIcon>) => ({ tool_icons: toolIcons });
