// Workflow runs (POST /workflows/run): validate before anything starts, then run the graph in a run
// session (src/core/workflows/run-session.ts), as a task whose events any reader can follow.
import type { Workflow } from "../../generated/prisma/client.js";
import type { Viewer } from "../auth/passport.service.js";
import { userInputForm } from "../apps/dsl.js";
import { validateInputs } from "../apps/inputs.js";
import { requireWorkflowApp } from "../apps/modes.js";
import { appUnavailable } from "../errors.js";
import type { FileValue } from "../files/file-refs.js";
import { namedImages, type NamedFile } from "../files/model-images.js";
import { filesAmong, markUsed, requestFiles, resolveFileInputs } from "../files/request-files.js";
import { featureRule } from "../files/upload-policy.js";
import type { Db } from "../ports/database.js";
import { WorkflowGraph } from "./graph.js";
import { RunSession, type StartedRun, type WorkflowDeps } from "./run-session.js";

// A workflow row is never changed (publishing makes a new one), so it can be kept by id: the start of
// a run then reads nothing from a database that concurrent runs are writing to.
const workflows = new Map<string, Workflow>();

export async function publishedWorkflow(db: Db, viewer: Viewer): Promise<Workflow> {
  const id = viewer.app.workflowId;
  const cached = id ? workflows.get(id) : undefined;
  if (cached) return cached;
  const workflow = id ? await db.workflow.findUnique({ where: { id } }) : null;
  if (!workflow) throw appUnavailable();
  if (workflows.size >= 500) workflows.delete(workflows.keys().next().value!);
  workflows.set(workflow.id, workflow);
  return workflow;
}

/** The workflow's features (file_upload, opening_statement...), as its DSL gives them. */
export function workflowFeatures(workflow: Workflow): { file_upload?: unknown; opening_statement?: string; text_to_speech?: unknown } {
  const features = workflow.features;
  return features && typeof features === "object" && !Array.isArray(features) ? (features as Record<string, any>) : {};
}

/**
 * The image files a run may show a model: all of them (`files` and file inputs) when an LLM node of the
 * workflow has vision on, else none. They are fetched before the run starts.
 */
export function imagesForVision(workflow: Workflow, inputs: Record<string, unknown>, files: FileValue[]): NamedFile[] {
  const graph = WorkflowGraph.fromDsl(workflow.graph);
  const sees = [...graph.nodes.values()].some((n) => n.data.type === "llm" && n.data.vision?.enabled);
  if (!sees) return [];
  return [...namedImages(files, "files"), ...Object.entries(inputs).flatMap(([name, value]) => namedImages(value, name))];
}

/** POST /workflows/run. */
export async function startWorkflowRun(deps: WorkflowDeps, viewer: Viewer, req: { inputs?: unknown; files?: unknown }): Promise<StartedRun> {
  requireWorkflowApp(viewer.app);
  const workflow = await publishedWorkflow(deps.db, viewer);
  const form = userInputForm("workflow", null, workflow.graph);
  const inputs = await resolveFileInputs(deps, viewer, form, validateInputs(form, req.inputs ?? {}));
  // A workflow app takes sys.files whatever its features say (as Dify does); they say how, when they say.
  const files = await requestFiles(deps, viewer, req.files, featureRule(workflowFeatures(workflow).file_upload), { unchecked: true });
  const images = RunSession.imagesOf(deps, viewer);
  await images.prefetch(imagesForVision(workflow, inputs, files)); // a refused file is a 4xx, before the run's row
  await markUsed(deps.db, viewer, [...files, ...filesAmong(Object.values(inputs))], new Date());
  return RunSession.forWorkflow(deps, { viewer, workflow, inputs, files, images }).start();
}
