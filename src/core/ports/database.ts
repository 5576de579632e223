// The database, as Prisma's generated client over whichever driver adapter the server opened
// (PGlite or PostgreSQL). Generated code, not an adapter: the core may use its types.
import type { PrismaClient } from "../../generated/prisma/client.js";

export type Db = PrismaClient;
export type { Prisma } from "../../generated/prisma/client.js";
