// Dify's human-input form page object (behaviour.md 2.7).
import type { FormRecord } from "../../core/workflows/human-input.service.js";
import { unixSeconds } from "../../core/time.js";
import { siteJson } from "./app-info.js";

export const formJson = (f: FormRecord) => ({
  form_content: f.content,
  inputs: f.inputs,
  resolved_default_values: f.resolvedDefaultValues,
  user_actions: f.actions,
  expiration_time: unixSeconds(f.expiresAt),
  site: siteJson(f.app, f.site, null),
});
