// GET /api/system-features (and the console copy Dify's front end reads): a community build's flags.
// appgraph has no enterprise web-app login, so `webapp_auth` is off and every app is public.
export function systemFeatures() {
  return {
    app_dsl_version: "0.6.0",
    sso_enforced_for_signin: false,
    sso_enforced_for_signin_protocol: "",
    enable_marketplace: false,
    max_plugin_package_size: 52428800,
    enable_email_code_login: false,
    enable_email_password_login: true,
    enable_social_oauth_login: false,
    enable_collaboration_mode: false,
    is_allow_register: false,
    is_allow_create_workspace: false,
    is_email_setup: false,
    license: { status: "none", expired_at: "", workspaces: { enabled: false, size: 0, limit: 0 } },
    branding: { enabled: false, application_title: "", login_page_logo: "", workspace_logo: "", favicon: "" },
    webapp_auth: {
      enabled: false,
      allow_sso: false,
      sso_config: { protocol: "" },
      allow_email_code_login: false,
      allow_email_password_login: false,
    },
    plugin_installation_permission: { plugin_installation_scope: "all", restrict_to_marketplace_only: false },
    enable_change_email: true,
    plugin_manager: { enabled: false },
    trial_models: [],
    enable_creators_platform: false,
    enable_trial_app: false,
    enable_explore_banner: false,
  };
}

/** GET /api/webapp/access-mode: community builds serve every app publicly. */
export const accessMode = () => ({ accessMode: "public" as const });
