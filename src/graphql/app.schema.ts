// The app a passport belongs to: site, parameters, tool icons.
import type { App, Site } from "../generated/prisma/client.js";
import type { AppParameters } from "../core/apps/app-info.service.js";
import { builder } from "./builder.js";
import { APP_MODES } from "../core/apps/dsl.js";

export const AppModeEnum = builder.enumType("AppMode", {
  values: Object.fromEntries(APP_MODES.map((m) => [m.replace("-", "_").toUpperCase(), { value: m }])) as Record<
    string,
    { value: (typeof APP_MODES)[number] }
  >,
});

const SiteRef = builder.objectRef<Site>("Site").implement({
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

const FeatureRef = builder.objectRef<Record<string, unknown>>("AppFeature").implement({
  description: "A feature switch and its settings, as the app's DSL declares them.",
  fields: (t) => ({
    enabled: t.boolean({ resolve: (f) => f.enabled === true }),
    settings: t.field({ type: "JSON", description: "The whole setting, keyed as in the DSL.", resolve: (f) => f }),
  }),
});

const AppParametersRef = builder.objectRef<AppParameters>("AppParameters").implement({
  description: "What the app asks for and offers (Dify's /parameters).",
  fields: (t) => ({
    openingStatement: t.exposeString("openingStatement", { nullable: true }),
    suggestedQuestions: t.exposeStringList("suggestedQuestions"),
    userInputForm: t.field({
      type: [UserInputField],
      resolve: (p) =>
        p.userInputForm.map((entry) => {
          const [type, spec] = Object.entries(entry)[0] ?? ["text-input", {}];
          return { type, spec: spec as Record<string, any> };
        }),
    }),
    suggestedQuestionsAfterAnswer: t.field({ type: FeatureRef, resolve: (p) => p.suggestedQuestionsAfterAnswer }),
    speechToText: t.field({ type: FeatureRef, resolve: (p) => p.speechToText }),
    textToSpeech: t.field({ type: FeatureRef, resolve: (p) => p.textToSpeech }),
    retrieverResource: t.field({ type: FeatureRef, resolve: (p) => p.retrieverResource }),
    annotationReply: t.field({ type: FeatureRef, resolve: (p) => p.annotationReply }),
    moreLikeThis: t.field({ type: FeatureRef, resolve: (p) => p.moreLikeThis }),
    sensitiveWordAvoidance: t.field({ type: FeatureRef, resolve: (p) => p.sensitiveWordAvoidance }),
    fileUpload: t.field({ type: "JSON", description: "Which files users may attach, as the DSL declares it.", resolve: (p) => p.fileUpload }),
    systemParameters: t.field({ type: SystemParametersRef, resolve: (p) => p.systemParameters }),
  }),
});

const SystemParametersRef = builder.objectRef<AppParameters["systemParameters"]>("SystemParameters").implement({
  description: "The upload limits this deployment enforces (UPLOAD_*_FILE_SIZE_LIMIT), in MB (2^20 bytes; fractions as configured), and a count of files for workflow inputs.",
  fields: (t) => ({
    imageFileSizeMb: t.exposeFloat("imageFileSizeMb"),
    videoFileSizeMb: t.exposeFloat("videoFileSizeMb"),
    audioFileSizeMb: t.exposeFloat("audioFileSizeMb"),
    fileSizeMb: t.exposeFloat("fileSizeMb"),
    workflowFileCount: t.exposeInt("workflowFileCount"),
  }),
});

const ToolIconRef = builder.objectRef<{ tool: string; background: string; content: string }>("ToolIcon").implement({
  fields: (t) => ({
    tool: t.exposeString("tool", { description: "The tool's name." }),
    background: t.exposeString("background"),
    content: t.exposeString("content", { description: "An emoji." }),
  }),
});

const AppRef = builder.objectRef<App>("App").implement({
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
    site: t.field({ type: SiteRef, resolve: async (_app, _args, ctx) => ctx.services.apps.site(await ctx.viewer()).site }),
    parameters: t.field({ type: AppParametersRef, resolve: async (_app, _args, ctx) => ctx.services.apps.parameters(await ctx.viewer()) }),
    toolIcons: t.field({
      type: [ToolIconRef],
      description: "Icons of the tools the app uses (Dify's /meta `tool_icons`).",
      resolve: async (_app, _args, ctx) =>
        Object.entries(await ctx.services.apps.toolIcons(await ctx.viewer())).map(([tool, icon]) => ({ tool, ...icon })),
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
