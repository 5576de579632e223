// The core, built once from its ports: one service per area, each holding that area's use cases. The
// surfaces get `services` and nothing else, so every rule (authorisation, scoping, validation, rate
// limits) is applied alike whichever surface a request came through.
import type { Logger } from "pino";
import type { Db } from "./ports/database.js";
import type { ModelProvider } from "./ports/model.js";
import type { OutboundFetch } from "./ports/outbound-fetch.js";
import type { RateLimiterFactory } from "./ports/rate-limiter.js";
import type { Sandbox } from "./ports/sandbox.js";
import type { TaskStore } from "./ports/task-store.js";
import type { RemoteFileLimits } from "./files/remote-images.js";
import { appService } from "./apps/app-info.service.js";
import { authService } from "./auth/passport.service.js";
import { ViewerCache } from "./auth/viewer-cache.js";
import { conversationService } from "./conversations/conversation.service.js";
import { conversationNameGenerator } from "./generation/conversation-name.js";
import { generationService } from "./generation/generation.service.js";
import { messageService } from "./messages/message.service.js";
import { TaskRunner } from "./tasks/task-runner.js";
import { resumeTimedOutForms } from "./workflows/resume-run.service.js";
import { workflowService } from "./workflows/workflow.service.js";

/** Who is asking, as far as limits that count per client need to know. */
export type Client = { address: string };

/** What the core needs from outside: the ports, wired by src/server.ts. */
export type CorePorts = {
  db: Db;
  models: ModelProvider;
  taskStore: TaskStore;
  /** The code node's sandbox, started on first use. */
  sandbox: () => Sandbox;
  /** Outbound HTTP for URLs users and app files name, under the deployment's outbound policy. */
  fetch: OutboundFetch;
  /** Caps on the remote files (images) fetched for models; defaults without. */
  remoteFiles?: RemoteFileLimits;
  rateLimiter: RateLimiterFactory;
  log: Logger;
  /** Signs passports. */
  secretKey: string;
};

export function createCore(ports: CorePorts) {
  const tasks = new TaskRunner(ports.taskStore);
  const viewers = new ViewerCache(ports.db);
  const deps = { ...ports, tasks, viewers };
  const services = {
    auth: authService(deps),
    apps: appService(deps),
    conversations: conversationService({ db: ports.db, nameConversation: (app, query) => conversationNameGenerator(ports.models, app)(query) }),
    messages: messageService(deps),
    generations: generationService(deps),
    workflows: workflowService(deps),
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
    /** Stop every local task (each saves what it has) and wait for them. */
    close: () => tasks.close(),
  };
}

export type Core = ReturnType<typeof createCore>;
export type Services = Core["services"];
