// What every surface shares: configuration, the database and the logger.
import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { Db } from "./db/client.js";

export type Runtime = { config: Config; db: Db; log: Logger };
