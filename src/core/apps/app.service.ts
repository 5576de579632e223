// The app registry: import from Dify's DSL, list, export, delete.
import crypto from "node:crypto";
import type { Db } from "../ports/database.js";
import type { Prisma } from "../../generated/prisma/client.js";
import { notFound } from "../errors.js";
import { isWorkflowMode, parseDsl, stringifyDsl } from "./dsl.js";

export type ImportedApp = { id: string; code: string; mode: string; name: string; warnings: string[] };

const CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A share code like Dify's: 16 random letters and digits. */
export function generateSiteCode(length = 16): string {
  const bytes = crypto.randomBytes(length);
  let code = "";
  for (const b of bytes) code += CODE_ALPHABET[b % CODE_ALPHABET.length];
  return code;
}

const asJson = (v: unknown) => v as Prisma.InputJsonValue;

/** Import a DSL document as a new app with its site (fresh share code) and, for workflow modes, its published workflow. */
export async function importApp(db: Db, text: string): Promise<ImportedApp> {
  const { dsl, warnings } = parseDsl(text);
  const a = dsl.app;
  const app = await db.$transaction(async (tx) => {
    const app = await tx.app.create({
      data: {
        name: a.name,
        mode: a.mode,
        description: a.description ?? "",
        icon: a.icon ?? null,
        iconType: a.icon_type ?? null,
        iconBackground: a.icon_background ?? null,
        useIconAsAnswerIcon: a.use_icon_as_answer_icon ?? false,
        modelConfig: dsl.model_config && !isWorkflowMode(a.mode) ? asJson(dsl.model_config) : undefined,
        dslVersion: dsl.version ?? "0.6.0",
        dependencies: asJson(dsl.dependencies ?? []),
        site: {
          create: {
            code: generateSiteCode(),
            title: a.name,
            icon: a.icon ?? null,
            iconType: a.icon_type ?? null,
            iconBackground: a.icon_background ?? null,
            description: a.description || null,
            useIconAsAnswerIcon: a.use_icon_as_answer_icon ?? false,
          },
        },
      },
      include: { site: true },
    });
    if (dsl.workflow && isWorkflowMode(a.mode)) {
      const w = dsl.workflow;
      const workflow = await tx.workflow.create({
        data: {
          appId: app.id,
          type: a.mode === "workflow" ? "workflow" : "chat",
          version: new Date().toISOString(),
          graph: asJson(w.graph),
          features: asJson(w.features),
          environmentVariables: asJson(w.environment_variables),
          conversationVariables: asJson(w.conversation_variables),
        },
      });
      await tx.app.update({ where: { id: app.id }, data: { workflowId: workflow.id } });
    }
    return app;
  });
  return { id: app.id, code: app.site!.code, mode: app.mode, name: app.name, warnings };
}

export async function listApps(db: Db) {
  const apps = await db.app.findMany({ orderBy: { createdAt: "asc" }, include: { site: { select: { code: true } } } });
  return apps.map((a) => ({ id: a.id, code: a.site?.code ?? null, mode: a.mode, name: a.name, createdAt: a.createdAt }));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function findApp(db: Db, id: string) {
  const app = UUID.test(id) ? await db.app.findUnique({ where: { id }, include: { workflow: true } }) : null;
  if (!app) throw notFound(`App ${id} not found`);
  return app;
}

/** The app as Dify's DSL: importing the result gives the same app back. */
export async function exportApp(db: Db, id: string): Promise<string> {
  const app = await findApp(db, id);
  const appSection: Record<string, unknown> = {
    description: app.description,
    icon: app.icon,
    icon_background: app.iconBackground,
    mode: app.mode,
    name: app.name,
    use_icon_as_answer_icon: app.useIconAsAnswerIcon,
  };
  if (app.iconType !== null) appSection.icon_type = app.iconType;
  const doc: Record<string, unknown> = {
    app: appSection,
    dependencies: app.dependencies,
    kind: "app",
    version: app.dslVersion,
  };
  if (isWorkflowMode(app.mode) && app.workflow) {
    doc.workflow = {
      conversation_variables: app.workflow.conversationVariables,
      environment_variables: app.workflow.environmentVariables,
      features: app.workflow.features,
      graph: app.workflow.graph,
    };
  } else {
    doc.model_config = app.modelConfig;
  }
  return stringifyDsl(doc);
}

export async function deleteApp(db: Db, id: string): Promise<void> {
  const app = await findApp(db, id);
  // The app references its published workflow and the workflow its app: clear the first link, then cascade.
  await db.$transaction([
    db.app.update({ where: { id: app.id }, data: { workflowId: null } }),
    db.app.delete({ where: { id: app.id } }),
  ]);
}

export async function countApps(db: Db): Promise<number> {
  return db.app.count();
}
