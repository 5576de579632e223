// Human input forms (behaviour.md 2.7): created when a run reaches a human-input node; the form token
// is the only credential of the form page. Submitting (or the node's timeout) resumes the run.
import crypto from "node:crypto";
import type { Db } from "../ports/database.js";
import type { App, Prisma, Site } from "../../generated/prisma/client.js";
import { AppError, forbidden, notFound } from "../errors.js";
import { storableJson } from "../text.js";
import type { GraphNode } from "./graph.js";
import type { HumanInputRequired } from "./events.js";
import { textOf } from "./variable-pool.js";

/** The form's text with the person's answers in its `{{#$output.name#}}` places. */
export function fillFormOutputs(template: string, inputs: Record<string, unknown>): string {
  return template.replace(/\{\{#\$output\.([a-zA-Z0-9_]+)#\}\}/g, (_m, name: string) => textOf(inputs[name]));
}

/** The pool owner under which a resumed run finds each form's answer. */
export const HUMAN_INPUT = "__human_input__";

export type HumanInputRequest = {
  node: GraphNode;
  renderedContent: string;
  inputs: Record<string, unknown>[];
  actions: { id: string; title: string; button_style: string }[];
  resolvedDefaults: Record<string, string>;
  expiration: Date;
  displayInUi: boolean;
};

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** 22 characters, as Dify's access tokens: ~131 bits. */
export function formToken(): string {
  let token = "";
  for (const b of crypto.randomBytes(22)) token += ALPHABET[b % ALPHABET.length];
  return token;
}


export async function createForm(db: Db, args: { appId: string; runId: string; request: HumanInputRequest }): Promise<{ event: HumanInputRequired }> {
  const r = args.request;
  const token = formToken();
  const definition = {
    form_content: r.renderedContent,
    inputs: r.inputs,
    user_actions: r.actions,
    resolved_default_values: r.resolvedDefaults,
    node_title: r.node.title,
    display_in_ui: r.displayInUi,
  };
  const form = await db.humanInputForm.create({
    data: {
      appId: args.appId,
      workflowRunId: args.runId,
      nodeId: r.node.id,
      formDefinition: definition as Prisma.InputJsonValue,
      renderedContent: r.renderedContent,
      expirationTime: r.expiration,
      recipients: { create: { accessToken: token } },
    },
  });
  return {
    event: {
      formId: form.id,
      nodeId: r.node.id,
      nodeTitle: r.node.title,
      formContent: r.renderedContent,
      inputs: r.inputs,
      actions: r.actions,
      displayInUi: r.displayInUi,
      formToken: token,
      resolvedDefaultValues: r.resolvedDefaults,
      expirationTime: r.expiration,
    },
  };
}

/** Dify's global limit: no form lives longer than this, whatever its node says. */
export const GLOBAL_TIMEOUT_MS = 7 * 24 * 3600 * 1000;

export type OpenForm = Awaited<ReturnType<typeof findForm>>;

async function findForm(db: Db, token: string) {
  const recipient =
    typeof token === "string" && /^[A-Za-z0-9]{1,64}$/.test(token)
      ? await db.humanInputFormRecipient.findUnique({ where: { accessToken: token }, include: { form: { include: { app: { include: { site: true } } } } } })
      : null;
  if (!recipient) throw notFound("Form not found");
  return recipient.form;
}

const expired = (form: { expirationTime: Date; createdAt: Date }, now: number) =>
  form.expirationTime.getTime() <= now || form.createdAt.getTime() + GLOBAL_TIMEOUT_MS <= now;

/** The form, if it can still be answered; Dify's 404 and 412s otherwise. */
export async function openForm(db: Db, token: string, now = Date.now()) {
  const form = await findForm(db, token);
  if (form.status === "submitted") throw new AppError("human_input_form_submitted", 412, "This form has already been submitted.");
  if (form.status !== "waiting" || expired(form, now)) throw new AppError("human_input_form_expired", 412, "This form has expired.");
  if (!form.app) throw notFound("App not found");
  return form;
}

/** A value as an error message can show it: anything but a scalar by its kind (String() can throw on objects). */
const shown = (v: unknown) => (v === null || v === undefined ? "None" : typeof v === "object" ? (Array.isArray(v) ? "a list" : "an object") : String(v).slice(0, 200));

/** Check a submission against the form: Dify's invalid_form_data for a bad action or missing inputs. */
export function checkSubmission(form: { formDefinition: unknown }, body: { inputs?: unknown; action?: unknown }) {
  const def = form.formDefinition as { user_actions: { id: string; title: string }[]; inputs: { output_variable_name: string }[] };
  const action = def.user_actions.find((a) => a.id === body.action);
  if (!action) throw new AppError("invalid_form_data", 400, `Invalid action: ${shown(body.action)}`);
  const given = body.inputs && typeof body.inputs === "object" && !Array.isArray(body.inputs) ? body.inputs : {};
  const inputs = storableJson(given, "inputs") as Record<string, unknown>;
  const missing = def.inputs.map((i) => i.output_variable_name).filter((name) => inputs[name] === undefined || inputs[name] === null);
  if (missing.length) throw new AppError("invalid_form_data", 400, `Missing required inputs: ${missing.join(", ")}`);
  return { action, inputs };
}

/** Mark it submitted, once: a second submission racing this one gets the 412. */
export async function markSubmitted(db: Db, formId: string, action: string, inputs: Record<string, unknown>) {
  const { count } = await db.humanInputForm.updateMany({
    where: { id: formId, status: "waiting" },
    data: { status: "submitted", selectedActionId: action, submittedData: inputs as Prisma.InputJsonValue, submittedAt: new Date() },
  });
  if (count === 0) throw new AppError("human_input_form_submitted", 412, "This form has already been submitted.");
}

/** Forms of runs still waiting whose node timeout has passed (the timeout branch takes over). */
export async function timedOutForms(db: Db, now = new Date()) {
  return db.humanInputForm.findMany({ where: { status: "waiting", expirationTime: { lte: now } }, take: 50 });
}

export async function markTimedOut(db: Db, formId: string): Promise<boolean> {
  const { count } = await db.humanInputForm.updateMany({ where: { id: formId, status: "waiting" }, data: { status: "timeout" } });
  return count > 0;
}

/** What a form page shows: the form, and the app and site it belongs to. */
export type FormRecord = {
  content: string;
  inputs: Record<string, unknown>[];
  resolvedDefaultValues: Record<string, string>;
  actions: { id: string; title: string; button_style: string }[];
  expiresAt: Date;
  app: App;
  site: Site;
};

/** The form behind a token, if it can still be answered. */
export async function formRecord(db: Db, token: string): Promise<FormRecord> {
  const form = await openForm(db, token);
  const def = form.formDefinition as Record<string, any>;
  const { site, ...app } = form.app;
  if (!site) throw forbidden();
  return {
    content: def.form_content as string,
    inputs: def.inputs as Record<string, unknown>[],
    resolvedDefaultValues: def.resolved_default_values as Record<string, string>,
    actions: def.user_actions as { id: string; title: string; button_style: string }[],
    expiresAt: form.expirationTime,
    app,
    site,
  };
}
