// GET /api/site, /parameters, /meta, /system-features, /webapp/*, /login/status, and the GraphQL app.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, startTestServer, type TestServer } from "../support/server.js";

describe.each(backends)("app information on %s", (backend) => {
  let s: TestServer;
  let chat: { id: string; code: string };
  let workflow: { id: string; code: string };
  let agent: { id: string; code: string };
  let chatToken: string;

  beforeAll(async () => {
    s = await startTestServer(backend);
    chat = await s.importApp("apps/chat-travel-planner.yml");
    workflow = await s.importApp("dsl-corpus/workflow-file-inputs-llm-tongyi.yml");
    agent = await s.importApp("dsl-corpus/agent-chat-youtube-channel-analysis.yml");
    chatToken = await s.passport(chat.code);
  });
  afterAll(() => s?.close());

  it("GET /site answers Dify's site shape", async () => {
    const res = await s.api("/site", { passport: chatToken, appCode: chat.code });
    expect(res.status).toBe(200);
    const body = await res.json();
    const endUser = JSON.parse(Buffer.from(chatToken.split(".")[1], "base64url").toString()).end_user_id;
    expect(body).toEqual({
      app_id: chat.id,
      end_user_id: endUser,
      enable_site: true,
      site: {
        title: "Travel planner",
        chat_color_theme: null,
        chat_color_theme_inverted: false,
        icon_type: "emoji",
        icon: "✈️",
        icon_background: "#FFEAD5",
        icon_url: null,
        description: "Plans a trip from a few preferences.",
        copyright: null,
        privacy_policy: null,
        custom_disclaimer: "",
        default_language: "en-US",
        prompt_public: false,
        show_workflow_steps: true,
        use_icon_as_answer_icon: true,
      },
      model_config: null,
      plan: "basic",
      can_replace_logo: false,
      custom_config: null,
    });
  });

  it("GET /parameters of a chat app carries its user input form and features", async () => {
    const body = await (await s.api("/parameters", { passport: chatToken })).json();
    expect(Object.keys(body).sort()).toEqual(
      [
        "opening_statement", "suggested_questions", "suggested_questions_after_answer", "speech_to_text", "text_to_speech",
        "retriever_resource", "annotation_reply", "more_like_this", "user_input_form", "sensitive_word_avoidance",
        "file_upload", "system_parameters",
      ].sort(),
    );
    expect(body.opening_statement).toBe("Where would you like to go, {{traveller}}?");
    expect(body.suggested_questions).toEqual(["What should I pack?"]);
    expect(body.suggested_questions_after_answer).toEqual({ enabled: true });
    expect(body.annotation_reply).toEqual({ enabled: false });
    expect(body.user_input_form.map((f: object) => Object.keys(f)[0])).toEqual(["text-input", "select", "number", "paragraph", "checkbox"]);
    expect(body.user_input_form[0]["text-input"]).toEqual({ default: "", label: "Your name", max_length: 32, required: true, variable: "traveller" });
    expect(body.user_input_form[1].select.options).toEqual(["Lisbon", "Kyoto", "Quito"]);
    expect(body.sensitive_word_avoidance).toMatchObject({ enabled: true, type: "keywords" });
    expect(body.file_upload).toEqual({ image: { detail: "high", enabled: true, number_limits: 2, transfer_methods: ["local_file", "remote_url"] } });
    expect(body.system_parameters).toEqual({
      image_file_size_limit: 10,
      video_file_size_limit: 100,
      audio_file_size_limit: 50,
      file_size_limit: 15,
      workflow_file_upload_limit: 10,
    });
  });

  it("GET /parameters of a workflow app wraps the start node's variables in the old structure", async () => {
    const token = await s.passport(workflow.code);
    const body = await (await s.api("/parameters", { passport: token })).json();
    expect(body.user_input_form).toHaveLength(2);
    expect(body.user_input_form[0]).toEqual({ file: expect.objectContaining({ variable: "doc", label: "doc", required: true, type: "file" }) });
    expect(body.user_input_form[1].file.allowed_file_types).toEqual(["image"]);
    expect(body.opening_statement).toBe("");
    expect(body.retriever_resource).toEqual({ enabled: true });
    expect(body.more_like_this).toEqual({ enabled: false }); // absent from the features: Dify's default
    expect(body.file_upload.allowed_file_types).toEqual(["image"]);
  });

  it("GET /parameters answers app_unavailable when a workflow app has no published workflow", async () => {
    const token = await s.passport(workflow.code);
    const app = await s.rt.db.app.findUniqueOrThrow({ where: { id: workflow.id } });
    await s.rt.db.app.update({ where: { id: workflow.id }, data: { workflowId: null } });
    s.rt.viewers.invalidateApp(workflow.id);
    try {
      const res = await s.api("/parameters", { passport: token });
      expect(res.status).toBe(400);
      expect((await res.json()).code).toBe("app_unavailable");
    } finally {
      await s.rt.db.app.update({ where: { id: workflow.id }, data: { workflowId: app.workflowId } });
      s.rt.viewers.invalidateApp(workflow.id);
    }
  });

  it("GET /meta lists the agent's tools, and nothing for an app without tools", async () => {
    const token = await s.passport(agent.code);
    const body = await (await s.api("/meta", { passport: token })).json();
    expect(Object.keys(body.tool_icons).sort()).toEqual(["bar_chart", "current_time", "wikipedia_search", "youtube_video_statistics"]);
    expect(body.tool_icons.current_time).toEqual({ background: "#252525", content: "😁" });
    expect(await (await s.api("/meta", { passport: chatToken })).json()).toEqual({ tool_icons: {} });
  });

  it("GET /system-features needs no passport, and the console copy answers the same", async () => {
    const res = await s.api("/system-features");
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.webapp_auth).toEqual({
      enabled: false,
      allow_sso: false,
      sso_config: { protocol: "" },
      allow_email_code_login: false,
      allow_email_password_login: false,
    });
    expect(body).toHaveProperty("branding.enabled", false);
    expect(body).toHaveProperty("license.status");
    const console = await fetch(`${s.url}/console/api/system-features`);
    expect(console.status).toBe(200);
    expect(await console.json()).toEqual(body);
  });

  it("GET /webapp/access-mode says public; /webapp/permission needs appId", async () => {
    expect(await (await s.api(`/webapp/access-mode?appCode=${chat.code}`)).json()).toEqual({ accessMode: "public" });
    expect(await (await s.api(`/webapp/permission?appId=${chat.id}`, { appCode: chat.code })).json()).toEqual({ result: true });
    const missing = await s.api("/webapp/permission");
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ code: "invalid_param", message: "appId must be provided", params: "appId", status: 400 });
  });

  describe("GET /login/status", () => {
    it("says logged_in for a public app, app_logged_in only with a valid passport", async () => {
      expect(await (await s.api(`/login/status?app_code=${chat.code}`)).json()).toEqual({ logged_in: true, app_logged_in: false });
      const withPassport = await s.api(`/login/status?app_code=${chat.code}`, { passport: chatToken });
      expect(await withPassport.json()).toEqual({ logged_in: true, app_logged_in: true });
      const viaCookie = await s.api(`/login/status?app_code=${chat.code}`, { headers: { cookie: `passport-${chat.code}=${chatToken}` } });
      expect(await viaCookie.json()).toEqual({ logged_in: true, app_logged_in: true });
    });

    it("is not app_logged_in with another app's passport or another user_id", async () => {
      const otherToken = await s.passport(workflow.code);
      expect(await (await s.api(`/login/status?app_code=${chat.code}`, { passport: otherToken })).json()).toEqual({
        logged_in: true,
        app_logged_in: false,
      });
      const carol = await s.passport(chat.code, "carol");
      expect(await (await s.api(`/login/status?app_code=${chat.code}&user_id=carol`, { passport: carol })).json()).toMatchObject({ app_logged_in: true });
      expect(await (await s.api(`/login/status?app_code=${chat.code}&user_id=dave`, { passport: carol })).json()).toMatchObject({ app_logged_in: false });
    });

    it("answers invalid_param for an unknown code, and nobody without one", async () => {
      const res = await s.api("/login/status?app_code=nosuchcode123456");
      expect(res.status).toBe(400);
      expect((await res.json()).code).toBe("invalid_param");
      expect(await (await s.api("/login/status")).json()).toEqual({ logged_in: false, app_logged_in: false });
    });
  });

  it("GraphQL currentApp gives the app, its site, parameters and tool icons", async () => {
    const body = await s.graphql(
      `{ currentApp { ... on App { id name mode iconType icon
          site { code title description defaultLanguage showWorkflowSteps }
          parameters { openingStatement suggestedQuestions
            userInputForm { type variable label required maxLength options default }
            fileUpload suggestedQuestionsAfterAnswer { enabled settings } moreLikeThis { enabled }
            systemParameters { fileSizeMb imageFileSizeMb workflowFileCount } }
          toolIcons { tool } } } }`,
      {},
      { authorization: `Bearer ${chatToken}` },
    );
    expect(body.errors).toBeUndefined();
    const app = body.data.currentApp;
    expect(app).toMatchObject({ id: chat.id, name: "Travel planner", mode: "CHAT", iconType: "emoji", icon: "✈️", toolIcons: [] });
    expect(app.site).toEqual({ code: chat.code, title: "Travel planner", description: "Plans a trip from a few preferences.", defaultLanguage: "en-US", showWorkflowSteps: true });
    expect(app.parameters.openingStatement).toBe("Where would you like to go, {{traveller}}?");
    expect(app.parameters.userInputForm).toEqual([
      { type: "text-input", variable: "traveller", label: "Your name", required: true, maxLength: 32, options: [], default: "" },
      { type: "select", variable: "destination", label: "Destination", required: true, maxLength: null, options: ["Lisbon", "Kyoto", "Quito"], default: "" },
      { type: "number", variable: "days", label: "Days", required: false, maxLength: null, options: [], default: "3" },
      { type: "paragraph", variable: "notes", label: "Notes", required: false, maxLength: 500, options: [], default: "" },
      { type: "checkbox", variable: "budget", label: "On a budget", required: false, maxLength: null, options: [], default: false },
    ]);
    expect(app.parameters.suggestedQuestionsAfterAnswer).toEqual({ enabled: true, settings: { enabled: true } });
    expect(app.parameters.moreLikeThis).toEqual({ enabled: false });
    expect(app.parameters.systemParameters).toEqual({ fileSizeMb: 15, imageFileSizeMb: 10, workflowFileCount: 10 });

    const wf = await s.graphql(`{ currentApp { ... on App { mode parameters { userInputForm { type variable } } } } }`, {}, {
      "x-app-passport": await s.passport(workflow.code),
    });
    expect(wf.data.currentApp).toEqual({ mode: "WORKFLOW", parameters: { userInputForm: [{ type: "file", variable: "doc" }, { type: "file", variable: "picture" }] } });
  });
});
