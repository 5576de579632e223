// The core, built once from its ports: one service per area, each holding that area's use cases. The
// surfaces get `services` and nothing else, so every rule (authorisation, scoping, validation, rate
// limits) is applied alike whichever surface a request came through.
import type { Logger } from "pino";
import type { Db } from "./ports/database.js";
import type { ModelProvider } from "./ports/model.js";
import type { SpeechProvider } from "./ports/speech.js";
import type { OutboundFetch, OutboundStream } from "./ports/outbound-fetch.js";
import type { DocumentText } from "./ports/document-text.js";
import type { RateLimiterFactory } from "./ports/rate-limiter.js";
import type { Sandbox } from "./ports/sandbox.js";
import type { TaskStore } from "./ports/task-store.js";
import { speechService } from "./speech/speech.service.js";
import type { RemoteFileLimits } from "./files/model-images.js";
import { fileLinks } from "./files/signed-url.js";
import type { FileStorage } from "./ports/file-storage.js";
import { DEFAULT_FILES_CONFIG, filesService, type FilesConfig } from "./files/upload.service.js";
import { remoteFiles } from "./files/remote-upload.js";
import { removeUnusedFiles, type UnusedFilesSweep } from "./files/unused-files.js";
import { appService } from "./apps/app-info.service.js";
import { authService } from "./auth/passport.service.js";
import { ViewerCache } from "./auth/viewer-cache.js";
import { conversationService } from "./conversations/conversation.service.js";
import { conversationNameGenerator } from "./generation/conversation-name.js";
import { generationService } from "./generation/generation.service.js";
import { messageService } from "./messages/message.service.js";
import { TaskRunner } from "./tasks/task-runner.js";
import { TaskLeases, type LeaseOptions } from "./tasks/task-leases.js";
import { endLostGeneration } from "./generation/lost-generation.js";
import { AnswerCheckpoints } from "./generation/answer-checkpoints.js";
import { continueLostRun } from "./workflows/continue-run.js";
import { resumeTimedOutForms } from "./workflows/resume-run.service.js";
import { workflowService } from "./workflows/workflow.service.js";

/** Who is asking, as far as limits that count per client need to know. */
export type Client = { address: string };

/** What the core needs from outside: the ports, wired by src/server.ts. */
export type CorePorts = {
  db: Db;
  models: ModelProvider;
  /** Speech to text and text to speech (an OpenAI-compatible server, or the embedded engine that only speaks). */
  speech: SpeechProvider;
  taskStore: TaskStore;
  /** The code node's sandbox, started on first use. */
  sandbox: () => Sandbox;
  /** Outbound HTTP for URLs users and app files name, under the deployment's outbound policy. */
  fetch: OutboundFetch;
  /** The same, its response body read as a stream (remote files on their way to storage). */
  fetchStream: OutboundStream;
  /** Caps on the remote files (images) fetched for models; defaults without. */
  remoteFiles?: RemoteFileLimits;
  /** Text out of documents (workflow document-extractor nodes). */
  documents: DocumentText;
  rateLimiter: RateLimiterFactory;
  /** Where uploaded files' bytes live. */
  storage: FileStorage;
  /** The row's storage_type for `storage` (Dify's STORAGE_TYPE): local, s3. */
  storageType?: string;
  /** Upload limits and signed URLs; defaults without. */
  files?: FilesConfig;
  log: Logger;
  /** Signs passports. */
  secretKey: string;
  /** How instances tell each other they are alive (settings, not a port). */
  lease: LeaseOptions;
};

export function createCore(ports: CorePorts) {
  const leases = new TaskLeases(ports.db, ports.log, ports.lease);
  const tasks = new TaskRunner(ports.taskStore, leases);
  const viewers = new ViewerCache(ports.db);
  const links = fileLinks(ports.secretKey, (ports.files ?? DEFAULT_FILES_CONFIG).filesUrl);
  const deps = { ...ports, tasks, viewers, links, answers: new AnswerCheckpoints(ports.db) };
  // What a live instance does with a dead one's tasks.
  leases.onTakeOver(["chat", "completion"], (task) => endLostGeneration({ db: ports.db, store: ports.taskStore }, task));
  leases.onTakeOver(["workflow", "advanced-chat"], (task) => continueLostRun(deps, task));
  const apps = appService(deps);
  const files = filesService({ ...deps, parameters: (viewer) => apps.parameters(viewer) });
  const services = {
    auth: authService(deps),
    apps,
    files,
    remoteFiles: remoteFiles({ fetch: ports.fetch, stream: ports.fetchStream, files, config: ports.files ?? DEFAULT_FILES_CONFIG }),
    conversations: conversationService({ db: ports.db, nameConversation: (app, query) => conversationNameGenerator(ports.models, app)(query) }),
    messages: messageService(deps),
    generations: generationService(deps),
    workflows: workflowService(deps),
    speech: speechService({ ...deps, parameters: (viewer) => apps.parameters(viewer) }),
    /** Whether the database answers. */
    async healthy(): Promise<boolean> {
      try {
        await ports.db.$queryRaw`SELECT 1`;
        return true;
      } catch (err) {
        ports.log.error({ err }, "health check failed");
        return false;
      }
    },
  };
  return {
    services,
    /** Cached app, site and end-user reads; the CLI-side and tests invalidate apps they change. */
    viewers,
    /** Send the runs of forms whose node timeout passed down their timeout branch. */
    resumeTimedOutForms: () => resumeTimedOutForms(deps),
    /** Remove uploads no message or run used, older than the retention period (a timer's job; tests call it). */
    removeUnusedFiles: (sweep: UnusedFilesSweep) => removeUnusedFiles(ports, sweep),
    /** Announce this instance and take over the tasks dead instances left; call before serving. */
    open: () => leases.open(),
    /** Take over the tasks of instances found dead now, rather than at the next check (tests). */
    reapDeadInstances: () => leases.reap(),
    /**
     * Shutting down: let running tasks finish for up to `deadlineMs`; then generations end with what
     * they have and runs are left, at their last checkpoint, to the instance that takes them over.
     */
    drain: (deadlineMs: number) => tasks.drain(deadlineMs),
    /** Stop every local task (each saves what it has), wait for them, and leave. */
    async close() {
      await tasks.close();
      await leases.close();
    },
  };
}

export type Core = ReturnType<typeof createCore>;
export type Services = Core["services"];
