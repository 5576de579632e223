// The environment, read once and validated. Defaults make `npm start` work with nothing set.
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { z } from "zod";
import { parseAllowList } from "./providers/http/safe-fetch.js";
import type { ConnectionLimits } from "./http/connections.js";
import type { S3StorageConfig } from "./providers/storage/s3.js";
import type { FilesConfig } from "./core/files/upload.service.js";

const mb = (n: number) => Math.floor(n * 1024 * 1024);

const optionalUrl = (protocols: string[]) =>
  z.url({ protocol: new RegExp(`^(${protocols.join("|")})$`) }).optional();

const limit = (fallback: number, min = 1) => z.coerce.number().int().min(min).max(2 ** 31 - 1).default(fallback);

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: optionalUrl(["postgres", "postgresql"]),
  REDIS_URL: optionalUrl(["redis", "rediss"]),
  SECRET_KEY: z.string().min(16, "must be at least 16 characters").optional(),
  OPENAI_BASE_URL: optionalUrl(["http", "https"]),
  OPENAI_API_KEY: z.string().optional(),
  // Speech (src/providers/speech): its own server, else OPENAI_BASE_URL's, else the embedded engine.
  SPEECH_PROVIDER: z.enum(["auto", "openai-compatible", "embedded"]).default("auto"),
  SPEECH_BASE_URL: optionalUrl(["http", "https"]),
  SPEECH_API_KEY: z.string().optional(),
  SPEECH_TO_TEXT_MODEL: z.string().default("whisper-1"),
  TEXT_TO_SPEECH_MODEL: z.string().default("tts-1"),
  TEXT_TO_SPEECH_VOICE: z.string().optional(),
  OUTBOUND_ALLOW: z
    .string()
    .default("")
    .transform((text, ctx) => {
      try {
        return parseAllowList(text);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    }),
  TRUST_PROXY: z
    .string()
    .default("false")
    .transform((text, ctx) => {
      if (text === "false" || text === "0") return 0;
      if (text === "true") return 1;
      if (/^[1-9]$/.test(text)) return Number(text);
      ctx.addIssue({ code: "custom", message: "must be false, true or the number of proxies in front (1-9)" });
      return z.NEVER;
    }),
  CORS_ALLOW_ORIGINS: z
    .string()
    .default("")
    .transform((text, ctx) => {
      const origins = text.split(",").map((o) => o.trim()).filter(Boolean);
      for (const origin of origins) {
        if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin)) {
          ctx.addIssue({ code: "custom", message: `${JSON.stringify(origin)} is not an origin like https://chat.example.com` });
          return z.NEVER;
        }
      }
      return origins;
    }),
  REMOTE_FILE_MAX_BYTES: limit(10 * 1024 * 1024),
  // Uploads (Dify's names and units: MB; fractions allowed, for small test limits; under 2 GiB, the size column's range).
  UPLOAD_IMAGE_FILE_SIZE_LIMIT: z.coerce.number().positive().max(2047).default(10),
  UPLOAD_VIDEO_FILE_SIZE_LIMIT: z.coerce.number().positive().max(2047).default(100),
  UPLOAD_AUDIO_FILE_SIZE_LIMIT: z.coerce.number().positive().max(2047).default(50),
  UPLOAD_FILE_SIZE_LIMIT: z.coerce.number().positive().max(2047).default(15),
  FILES_ACCESS_TIMEOUT: limit(300),
  FILES_URL: optionalUrl(["http", "https"]),
  REMOTE_FILE_TIMEOUT_MS: limit(10_000),
  // Uploads no message or run used are removed after this many hours (0: kept for ever), by a sweep this often.
  FILES_RETENTION_HOURS: z.coerce.number().int().min(0).max(10 * 365 * 24).default(24),
  // Minutes; fractions allowed, for tests that watch a sweep happen.
  FILES_CLEANUP_INTERVAL_MINUTES: z.coerce.number().min(0.001).max(24 * 60).default(60),
  // Connections (src/http/connections.ts).
  MAX_CONNECTIONS: limit(10_000),
  HEADERS_TIMEOUT_MS: limit(10_000),
  REQUEST_TIMEOUT_MS: limit(60_000),
  WRITE_TIMEOUT_MS: limit(30_000),
  TASK_RETENTION_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  // With REDIS_URL: how long a reader waits for Redis, and how much of the events Redis has not taken yet is kept.
  REDIS_OUTAGE_SECONDS: limit(60),
  TASK_EVENT_BUFFER_MB: limit(64),
  // An instance silent this long is dead; another takes its tasks over.
  INSTANCE_LEASE_MS: limit(15_000, 300),
  // On SIGTERM: how long running streams may go on before they are handed over.
  DRAIN_TIMEOUT_MS: limit(30_000, 0),
  // Uploaded files in an S3-compatible bucket (src/providers/storage/s3.ts) rather than DATA_DIR; S3_BUCKET selects it.
  S3_ENDPOINT: optionalUrl(["http", "https"]),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be a bucket name: 3-63 lowercase letters, digits, dots and hyphens")
    .optional(),
  S3_REGION: z.string().regex(/^[a-z0-9-]+$/, "must be a region name such as us-east-1 (R2: auto)").default("us-east-1"),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  S3_FORCE_PATH_STYLE: z.enum(["true", "false"], "must be true or false").optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  // GraphQL limits (src/graphql/policy.ts): what one request may ask for, on every transport.
  GRAPHQL_MAX_BODY_BYTES: limit(1024 * 1024),
  GRAPHQL_MAX_TOKENS: limit(1000),
  GRAPHQL_MAX_DEPTH: limit(10),
  GRAPHQL_MAX_ALIASES: limit(15, 0),
  GRAPHQL_MAX_DIRECTIVES: limit(50, 0),
  GRAPHQL_MAX_COST: limit(10_000),
  GRAPHQL_MAX_MODEL_CALLS: limit(5, 0),
  GRAPHQL_MAX_WS_SUBSCRIPTIONS: limit(100),
});

export type Config = {
  port: number;
  host: string;
  dataDir: string;
  /** Set: PostgreSQL through the pg adapter. Unset: embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  redisUrl?: string;
  secretKey: string;
  openaiBaseUrl?: string;
  openaiApiKey?: string;
  speech: SpeechConfig;
  logLevel: z.infer<typeof envSchema>["LOG_LEVEL"];
  /** Hosts, addresses and CIDRs that outbound requests (http-request nodes, remote files) may reach although private. */
  outboundAllow: string[];
  /** Caps on a remote file (image) the gateway fetches to show a model. */
  remoteFiles: { maxBytes: number; timeoutMs: number };
  /** Uploads: limits by kind (bytes), signed URLs' lifetime and prefix. */
  files: FilesConfig;
  /** Uploads no message or run used: removed once older than `retentionMs` (0: never), swept every `intervalMs`. */
  fileCleanup: { retentionMs: number; intervalMs: number };
  /** How long a finished task's events can be replayed (resume). */
  taskRetentionMs: number;
  /** The Redis task store through an outage: readers give up after `outageLimitMs`; `maxBufferedBytes` of events wait. */
  taskEvents: { outageLimitMs: number; maxBufferedBytes: number };
  /** An instance that has not heartbeaten for this long is dead: its tasks are taken over. */
  instanceLeaseMs: number;
  /** On SIGTERM, how long running generations and runs may finish before they are handed over. */
  drainTimeoutMs: number;
  /**
   * How many reverse proxies stand in front: 0 believes no forwarding header (the peer address is the
   * client); n takes the client from X-Forwarded-For n hops back (and believes CF-Connecting-IP).
   */
  trustProxy: number;
  /** Origins allowed to call cross-origin with credentials; empty echoes every Origin (Dify's `*`). */
  corsAllowOrigins: string[];
  graphql: GraphQLLimits;
  connections: ConnectionLimits;
  storage: StorageConfig;
};

/**
 * Speech: an OpenAI-compatible server when `baseUrl` is set, else the embedded engine (speaks offline,
 * transcribes nothing). Models and voice are the defaults an app's DSL overrides.
 */
export type SpeechConfig = {
  baseUrl?: string;
  apiKey?: string;
  speechToTextModel: string;
  textToSpeechModel: string;
  /** Unset: the provider's own default voice. */
  voice?: string;
};

/** Where uploaded files' bytes live: on local disk under `dataDir` (the default), or in an S3-compatible bucket. */
export type StorageConfig = { kind: "local" } | ({ kind: "s3" } & S3StorageConfig);

export type GraphQLLimits = {
  /** An HTTP request body, and a graphql-ws message. */
  maxBodyBytes: number;
  /** Lexical tokens in a document; parsing stops past it. */
  maxTokens: number;
  /** Nested field selections (fragments add none). */
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  /** Fields selected, each counted as often as it will be resolved (lists and pages multiply). */
  maxCost: number;
  /** Model calls (generations, runs, suggestions, names) one operation may start. */
  maxModelCalls: number;
  /** Subscriptions running at once on one graphql-ws connection. */
  maxWsSubscriptions: number;
};

export class ConfigError extends Error {}

/** Turn the environment into a Config; throws ConfigError with one line naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", as in most twelve-factor tools.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    throw new ConfigError(`${name}: ${issue.message} (got ${JSON.stringify(cleaned[name] ?? null)})`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  if (e.HEADERS_TIMEOUT_MS > e.REQUEST_TIMEOUT_MS) {
    throw new ConfigError(`HEADERS_TIMEOUT_MS: must not exceed REQUEST_TIMEOUT_MS (${e.REQUEST_TIMEOUT_MS}) (got ${JSON.stringify(cleaned.HEADERS_TIMEOUT_MS ?? String(e.HEADERS_TIMEOUT_MS))})`);
  }
  if (e.DATABASE_URL && !e.SECRET_KEY) {
    throw new ConfigError("SECRET_KEY: required when DATABASE_URL is set (every instance must sign passports alike)");
  }
  const storage = storageConfig(e, cleaned);
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    secretKey: e.SECRET_KEY ?? embeddedSecretKey(dataDir),
    openaiBaseUrl: e.OPENAI_BASE_URL,
    openaiApiKey: e.OPENAI_API_KEY,
    speech: speechConfig(e),
    logLevel: e.LOG_LEVEL,
    taskRetentionMs: e.TASK_RETENTION_SECONDS * 1000,
    instanceLeaseMs: e.INSTANCE_LEASE_MS,
    drainTimeoutMs: e.DRAIN_TIMEOUT_MS,
    taskEvents: { outageLimitMs: e.REDIS_OUTAGE_SECONDS * 1000, maxBufferedBytes: e.TASK_EVENT_BUFFER_MB * 1024 * 1024 },
    outboundAllow: e.OUTBOUND_ALLOW,
    remoteFiles: { maxBytes: e.REMOTE_FILE_MAX_BYTES, timeoutMs: e.REMOTE_FILE_TIMEOUT_MS },
    files: {
      limits: {
        image: mb(e.UPLOAD_IMAGE_FILE_SIZE_LIMIT),
        video: mb(e.UPLOAD_VIDEO_FILE_SIZE_LIMIT),
        audio: mb(e.UPLOAD_AUDIO_FILE_SIZE_LIMIT),
        other: mb(e.UPLOAD_FILE_SIZE_LIMIT),
      },
      accessTimeoutSeconds: e.FILES_ACCESS_TIMEOUT,
      filesUrl: (e.FILES_URL ?? "").replace(/\/+$/, ""),
    },
    fileCleanup: { retentionMs: e.FILES_RETENTION_HOURS * 3600 * 1000, intervalMs: Math.round(e.FILES_CLEANUP_INTERVAL_MINUTES * 60 * 1000) },
    trustProxy: e.TRUST_PROXY,
    corsAllowOrigins: e.CORS_ALLOW_ORIGINS,
    graphql: {
      maxBodyBytes: e.GRAPHQL_MAX_BODY_BYTES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
      maxCost: e.GRAPHQL_MAX_COST,
      maxModelCalls: e.GRAPHQL_MAX_MODEL_CALLS,
      maxWsSubscriptions: e.GRAPHQL_MAX_WS_SUBSCRIPTIONS,
    },
    connections: {
      maxConnections: e.MAX_CONNECTIONS,
      headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
      writeTimeoutMs: e.WRITE_TIMEOUT_MS,
    },
    storage,
  };
}

function speechConfig(e: z.infer<typeof envSchema>): SpeechConfig {
  const models = { speechToTextModel: e.SPEECH_TO_TEXT_MODEL, textToSpeechModel: e.TEXT_TO_SPEECH_MODEL, voice: e.TEXT_TO_SPEECH_VOICE };
  if (e.SPEECH_PROVIDER === "embedded") return models;
  // A separate speech server gets its own key only: OPENAI_API_KEY is never sent to another host.
  const server = e.SPEECH_BASE_URL ? { baseUrl: e.SPEECH_BASE_URL, apiKey: e.SPEECH_API_KEY } : { baseUrl: e.OPENAI_BASE_URL, apiKey: e.SPEECH_API_KEY ?? e.OPENAI_API_KEY };
  if (!server.baseUrl && e.SPEECH_PROVIDER === "openai-compatible") {
    throw new ConfigError("SPEECH_BASE_URL: required when SPEECH_PROVIDER is openai-compatible (or set OPENAI_BASE_URL)");
  }
  return server.baseUrl ? { ...models, ...server } : models;
}

const S3_OPTIONS = ["S3_ENDPOINT", "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "S3_FORCE_PATH_STYLE"] as const;

function storageConfig(e: z.infer<typeof envSchema>, given: Record<string, string | undefined>): StorageConfig {
  if (!e.S3_BUCKET) {
    // Half an S3 configuration would otherwise silently keep files on local disk.
    const stray = S3_OPTIONS.find((name) => given[name] !== undefined);
    if (stray) throw new ConfigError(`S3_BUCKET: required when ${stray} is set (it selects S3 storage)`);
    return { kind: "local" };
  }
  if ((e.S3_ACCESS_KEY_ID === undefined) !== (e.S3_SECRET_ACCESS_KEY === undefined)) {
    const [missing, present] = e.S3_ACCESS_KEY_ID ? ["S3_SECRET_ACCESS_KEY", "S3_ACCESS_KEY_ID"] : ["S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"];
    throw new ConfigError(`${missing}: required when ${present} is set (or set neither, for the AWS default credentials)`);
  }
  return {
    kind: "s3",
    endpoint: e.S3_ENDPOINT,
    bucket: e.S3_BUCKET,
    region: e.S3_REGION,
    credentials: e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY ? { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY } : undefined,
    // Self-hosted servers (MinIO and the like) rarely have a DNS name per bucket; AWS prefers virtual hosts.
    forcePathStyle: e.S3_FORCE_PATH_STYLE ? e.S3_FORCE_PATH_STYLE === "true" : e.S3_ENDPOINT !== undefined,
  };
}

/** Embedded mode: a key generated on first start and kept in DATA_DIR, so passports survive restarts. */
function embeddedSecretKey(dataDir: string): string {
  const file = path.join(dataDir, "secret-key");
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const key = crypto.randomBytes(32).toString("base64url");
  try {
    fs.writeFileSync(file, key + "\n", { mode: 0o600, flag: "wx" });
    return key;
  } catch (err) {
    // Another process wrote it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return fs.readFileSync(file, "utf8").trim();
    throw err;
  }
}
