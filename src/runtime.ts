// What every surface shares: configuration, the database and the logger.
import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { Db } from "./db/client.js";
import type { Sandbox } from "./core/workflows/nodes/code.js";
import type { SafeFetch } from "./core/workflows/nodes/http-request.js";
import type { ModelProvider } from "./providers/model/types.js";
import type { TaskRunner } from "./core/generation/task-runner.js";
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
  fetch: SafeFetch;
};

export const authDeps = (rt: Runtime): AuthDeps => ({ secretKey: rt.config.secretKey, viewers: rt.viewers });
