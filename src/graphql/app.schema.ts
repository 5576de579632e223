// The app a passport belongs to: site, parameters, meta.
import { builder } from "./builder.js";
import { appMeta, appParameters } from "../core/apps/app-info.service.js";
import { APP_MODES } from "../core/apps/dsl.js";

export const AppModeEnum = builder.enumType("AppMode", {
  values: Object.fromEntries(APP_MODES.map((m) => [m.replace("-", "_").toUpperCase(), { value: m }])) as Record<
    string,
    { value: (typeof APP_MODES)[number] }
  >,
});

const SiteRef = builder.prismaObject("Site", {
  description: "How the app presents itself on its share page.",
  fields: (t) => ({
    code: t.exposeString("code", { description: "The share code (Dify's X-App-Code)." }),
    title: t.exposeString("title"),
    description: t.exposeString("description", { nullable: true }),
    iconType: t.exposeString("iconType", { nullable: true }),
    icon: t.exposeString("icon", { nullable: true }),
    iconBackground: t.exposeString("iconBackground", { nullable: true }),
    defaultLanguage: t.exposeString("defaultLanguage"),
    chatColorTheme: t.exposeString("chatColorTheme", { nullable: true }),
    chatColorThemeInverted: t.exposeBoolean("chatColorThemeInverted"),
    copyright: t.exposeString("copyright", { nullable: true }),
    privacyPolicy: t.exposeString("privacyPolicy", { nullable: true }),
    customDisclaimer: t.exposeString("customDisclaimer"),
    showWorkflowSteps: t.exposeBoolean("showWorkflowSteps"),
    useIconAsAnswerIcon: t.exposeBoolean("useIconAsAnswerIcon"),
    promptPublic: t.exposeBoolean("promptPublic"),
  }),
});

type InputField = { type: string; spec: Record<string, any> };

const UserInputField = builder.objectRef<InputField>("UserInputField").implement({
  description: "One variable of the app's user input form.",
  fields: (t) => ({
    type: t.string({ description: "text-input, paragraph, select, number, checkbox, file, file-list, ...", resolve: (f) => f.type }),
    variable: t.string({ resolve: (f) => String(f.spec.variable) }),
    label: t.string({ resolve: (f) => (typeof f.spec.label === "string" ? f.spec.label : String(f.spec.variable)) }),
    required: t.boolean({ resolve: (f) => Boolean(f.spec.required) }),
    maxLength: t.int({ nullable: true, resolve: (f) => (typeof f.spec.max_length === "number" ? f.spec.max_length : null) }),
    options: t.stringList({ resolve: (f) => (Array.isArray(f.spec.options) ? f.spec.options.map(String) : []) }),
    default: t.field({ type: "JSON", nullable: true, resolve: (f) => f.spec.default ?? null }),
    hint: t.string({ nullable: true, resolve: (f) => f.spec.hint ?? null }),
    placeholder: t.string({ nullable: true, resolve: (f) => f.spec.placeholder ?? null }),
    spec: t.field({ type: "JSON", description: "The variable as the DSL declares it.", resolve: (f) => f.spec }),
  }),
});

type Parameters = Awaited<ReturnType<typeof appParameters>>;

const AppParameters = builder.objectRef<Parameters>("AppParameters").implement({
  description: "What the app asks for and offers (Dify's /parameters).",
  fields: (t) => ({
    openingStatement: t.string({ nullable: true, resolve: (p) => p.opening_statement }),
    suggestedQuestions: t.stringList({ resolve: (p) => p.suggested_questions }),
    userInputForm: t.field({
      type: [UserInputField],
      resolve: (p) =>
        p.user_input_form.map((entry) => {
          const [type, spec] = Object.entries(entry)[0] ?? ["text-input", {}];
          return { type, spec: spec as Record<string, any> };
        }),
    }),
    fileUpload: t.field({ type: "JSON", resolve: (p) => p.file_upload }),
    features: t.field({
      type: "JSON",
      description: "The remaining feature switches, keyed as in Dify's /parameters.",
      resolve: (p) => ({
        suggested_questions_after_answer: p.suggested_questions_after_answer,
        speech_to_text: p.speech_to_text,
        text_to_speech: p.text_to_speech,
        retriever_resource: p.retriever_resource,
        annotation_reply: p.annotation_reply,
        more_like_this: p.more_like_this,
        sensitive_word_avoidance: p.sensitive_word_avoidance,
      }),
    }),
    systemParameters: t.field({ type: "JSON", resolve: (p) => p.system_parameters }),
  }),
});

const AppRef = builder.prismaObject("App", {
  description: "A published LLM app.",
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    description: t.exposeString("description"),
    mode: t.field({ type: AppModeEnum, resolve: (a) => a.mode as (typeof APP_MODES)[number] }),
    iconType: t.exposeString("iconType", { nullable: true }),
    icon: t.exposeString("icon", { nullable: true }),
    iconBackground: t.exposeString("iconBackground", { nullable: true }),
    useIconAsAnswerIcon: t.exposeBoolean("useIconAsAnswerIcon"),
    // From the cached app, like the REST surface: a page load touches no database.
    site: t.field({ type: SiteRef, nullable: true, resolve: async (app, _args, ctx) => (await ctx.rt.viewers.app(app.id))?.site ?? null }),
    parameters: t.field({
      type: AppParameters,
      resolve: (app, _args, ctx) => ctx.rt.viewers.memo(app.id, "parameters", () => appParameters(ctx.rt.db, app)),
    }),
    toolIcons: t.field({
      type: "JSON",
      description: "Icons of the tools the app uses (Dify's /meta `tool_icons`).",
      resolve: async (app, _args, ctx) => (await ctx.rt.viewers.memo(app.id, "meta", () => appMeta(ctx.rt.db, app))).tool_icons,
    }),
  }),
});

builder.queryField("currentApp", (t) =>
  t.field({
    type: AppRef,
    description: "The app the presented passport belongs to.",
    errors: {},
    resolve: async (_root, _args, ctx) => (await ctx.viewer()).app,
  }),
);
