// What every surface shares: configuration, the database and the logger.
import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { Db } from "./db/client.js";
import type { Sandbox } from "./core/ports/sandbox.js";
import type { OutboundFetch } from "./core/ports/outbound-fetch.js";
import type { ModelProvider } from "./core/ports/model.js";
import type { TaskRunner } from "./core/tasks/task-runner.js";
import type { ViewerCache } from "./core/auth/viewer-cache.js";
import type { AuthDeps } from "./core/auth/passport.service.js";

export type Runtime = {
  config: Config;
  db: Db;
  log: Logger;
  /** Cached app, site and end-user reads for passport checks. */
  viewers: ViewerCache;
  models: ModelProvider;
  tasks: TaskRunner;
  /** The code node's sandbox, started on first use. */
  sandbox: () => Sandbox;
  /** Outbound HTTP for user-controlled URLs, with the deployment's allow list. */
  fetch: OutboundFetch;
};

export const authDeps = (rt: Runtime): AuthDeps => ({ secretKey: rt.config.secretKey, viewers: rt.viewers });
