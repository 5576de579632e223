import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-config-"));

describe("configuration", () => {
  it("has defaults that need nothing set", () => {
    const dir = tmp();
    const c = loadConfig({ DATA_DIR: dir });
    expect(c).toMatchObject({ port: 4000, host: "127.0.0.1", dataDir: dir, logLevel: "info", databaseUrl: undefined, redisUrl: undefined });
    expect(c.secretKey.length).toBeGreaterThanOrEqual(32);
  });

  it("trusts no proxy and echoes every Origin unless told otherwise", () => {
    expect(loadConfig({ DATA_DIR: tmp() })).toMatchObject({ trustProxy: 0, corsAllowOrigins: [] });
    expect(loadConfig({ DATA_DIR: tmp(), TRUST_PROXY: "true", CORS_ALLOW_ORIGINS: "https://a.example, http://localhost:3000" })).toMatchObject({
      trustProxy: 1,
      corsAllowOrigins: ["https://a.example", "http://localhost:3000"],
    });
    expect(loadConfig({ DATA_DIR: tmp(), TRUST_PROXY: "2" }).trustProxy).toBe(2);
  });

  it("has GraphQL limits, each changeable", () => {
    const defaults = { maxBodyBytes: 1024 * 1024, maxTokens: 1000, maxDepth: 10, maxAliases: 15, maxDirectives: 50, maxCost: 10_000, maxModelCalls: 5, maxWsSubscriptions: 100 };
    expect(loadConfig({ DATA_DIR: tmp() }).graphql).toEqual(defaults);
    const env = { GRAPHQL_MAX_BODY_BYTES: "2048", GRAPHQL_MAX_TOKENS: "3", GRAPHQL_MAX_DEPTH: "4", GRAPHQL_MAX_ALIASES: "0", GRAPHQL_MAX_DIRECTIVES: "6", GRAPHQL_MAX_COST: "7", GRAPHQL_MAX_MODEL_CALLS: "0", GRAPHQL_MAX_WS_SUBSCRIPTIONS: "8" };
    expect(loadConfig({ DATA_DIR: tmp(), ...env }).graphql).toEqual({ maxBodyBytes: 2048, maxTokens: 3, maxDepth: 4, maxAliases: 0, maxDirectives: 6, maxCost: 7, maxModelCalls: 0, maxWsSubscriptions: 8 });
  });

  it("sets how tasks ride out faults, changeably", () => {
    const defaults = loadConfig({ DATA_DIR: tmp() });
    expect([defaults.taskEvents, defaults.instanceLeaseMs, defaults.drainTimeoutMs]).toEqual([{ outageLimitMs: 60_000, maxBufferedBytes: 64 * 1024 * 1024 }, 15_000, 30_000]);
    const set = loadConfig({ DATA_DIR: tmp(), REDIS_OUTAGE_SECONDS: "5", TASK_EVENT_BUFFER_MB: "2", INSTANCE_LEASE_MS: "1000", DRAIN_TIMEOUT_MS: "0" });
    expect([set.taskEvents, set.instanceLeaseMs, set.drainTimeoutMs]).toEqual([{ outageLimitMs: 5000, maxBufferedBytes: 2 * 1024 * 1024 }, 1000, 0]);
    expect(() => loadConfig({ DATA_DIR: tmp(), INSTANCE_LEASE_MS: "10" })).toThrow(/INSTANCE_LEASE_MS/);
  });

  it("caps the remote files fetched for models, changeably", () => {
    expect(loadConfig({ DATA_DIR: tmp() }).remoteFiles).toEqual({ maxBytes: 10 * 1024 * 1024, timeoutMs: 10_000 });
    expect(loadConfig({ DATA_DIR: tmp(), REMOTE_FILE_MAX_BYTES: "1000", REMOTE_FILE_TIMEOUT_MS: "500" }).remoteFiles).toEqual({ maxBytes: 1000, timeoutMs: 500 });
  });

  it("limits uploads by kind and signed URLs' lifetime, changeably (Dify's names, MB)", () => {
    const mb = 1024 * 1024;
    expect(loadConfig({ DATA_DIR: tmp() }).files).toEqual({ limits: { image: 10 * mb, video: 100 * mb, audio: 50 * mb, other: 15 * mb }, accessTimeoutSeconds: 300, filesUrl: "" });
    const env = { UPLOAD_IMAGE_FILE_SIZE_LIMIT: "1", UPLOAD_VIDEO_FILE_SIZE_LIMIT: "2", UPLOAD_AUDIO_FILE_SIZE_LIMIT: "3", UPLOAD_FILE_SIZE_LIMIT: "0.5", FILES_ACCESS_TIMEOUT: "60", FILES_URL: "https://files.example.com/" };
    expect(loadConfig({ DATA_DIR: tmp(), ...env }).files).toEqual({ limits: { image: mb, video: 2 * mb, audio: 3 * mb, other: mb / 2 }, accessTimeoutSeconds: 60, filesUrl: "https://files.example.com" });
    expect(() => loadConfig({ DATA_DIR: tmp(), UPLOAD_FILE_SIZE_LIMIT: "0" })).toThrow(/UPLOAD_FILE_SIZE_LIMIT/);
  });

  it("removes unused uploads after a day, swept hourly, changeably (0 keeps them)", () => {
    expect(loadConfig({ DATA_DIR: tmp() }).fileCleanup).toEqual({ retentionMs: 24 * 3600_000, intervalMs: 3600_000 });
    expect(loadConfig({ DATA_DIR: tmp(), FILES_RETENTION_HOURS: "2", FILES_CLEANUP_INTERVAL_MINUTES: "0.5" }).fileCleanup).toEqual({ retentionMs: 2 * 3600_000, intervalMs: 30_000 });
    expect(loadConfig({ DATA_DIR: tmp(), FILES_RETENTION_HOURS: "0" }).fileCleanup.retentionMs).toBe(0);
    for (const bad of [{ FILES_RETENTION_HOURS: "-1" }, { FILES_RETENTION_HOURS: "1.5" }, { FILES_RETENTION_HOURS: "day" }, { FILES_CLEANUP_INTERVAL_MINUTES: "0" }]) {
      expect(() => loadConfig({ DATA_DIR: tmp(), ...bad })).toThrow(new RegExp(Object.keys(bad)[0]));
    }
  });

  it("bounds connections, changeably", () => {
    expect(loadConfig({ DATA_DIR: tmp() }).connections).toEqual({ maxConnections: 10_000, headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, writeTimeoutMs: 30_000 });
    const env = { MAX_CONNECTIONS: "5", HEADERS_TIMEOUT_MS: "100", REQUEST_TIMEOUT_MS: "200", WRITE_TIMEOUT_MS: "300" };
    expect(loadConfig({ DATA_DIR: tmp(), ...env }).connections).toEqual({ maxConnections: 5, headersTimeoutMs: 100, requestTimeoutMs: 200, writeTimeoutMs: 300 });
  });

  it("keeps files on local disk unless S3_BUCKET selects S3, with path-style addressing for custom endpoints", () => {
    expect(loadConfig({ DATA_DIR: tmp() }).storage).toEqual({ kind: "local" });
    expect(loadConfig({ DATA_DIR: tmp(), S3_BUCKET: "uploads" }).storage).toEqual({
      kind: "s3",
      endpoint: undefined,
      bucket: "uploads",
      region: "us-east-1",
      credentials: undefined,
      forcePathStyle: false,
    });
    const minio = { S3_BUCKET: "uploads", S3_ENDPOINT: "http://127.0.0.1:9000", S3_ACCESS_KEY_ID: "id", S3_SECRET_ACCESS_KEY: "secret" };
    expect(loadConfig({ DATA_DIR: tmp(), ...minio }).storage).toEqual({
      kind: "s3",
      endpoint: "http://127.0.0.1:9000",
      bucket: "uploads",
      region: "us-east-1",
      credentials: { accessKeyId: "id", secretAccessKey: "secret" },
      forcePathStyle: true,
    });
    const r2 = { ...minio, S3_REGION: "auto", S3_FORCE_PATH_STYLE: "false" };
    expect(loadConfig({ DATA_DIR: tmp(), ...r2 }).storage).toMatchObject({ region: "auto", forcePathStyle: false });
  });

  it("names a missing S3 key without echoing the other one", () => {
    const load = () => loadConfig({ DATA_DIR: tmp(), S3_BUCKET: "uploads", S3_SECRET_ACCESS_KEY: "very-secret-value" });
    expect(load).toThrow(/^S3_ACCESS_KEY_ID: required when S3_SECRET_ACCESS_KEY is set/);
    expect(load).not.toThrow(/very-secret-value/);
  });

  it("keeps the embedded secret key in DATA_DIR, so passports survive a restart", () => {
    const dir = tmp();
    const first = loadConfig({ DATA_DIR: dir }).secretKey;
    expect(loadConfig({ DATA_DIR: dir }).secretKey).toBe(first);
    expect(fs.readFileSync(path.join(dir, "secret-key"), "utf8").trim()).toBe(first);
    expect(loadConfig({ DATA_DIR: dir, SECRET_KEY: "x".repeat(20) }).secretKey).toBe("x".repeat(20));
  });

  it.each([
    [{ PORT: "eighty" }, /^PORT: /],
    [{ PORT: "70000" }, /^PORT: /],
    [{ DATABASE_URL: "mysql://localhost/db", SECRET_KEY: "x".repeat(16) }, /^DATABASE_URL: /],
    [{ REDIS_URL: "localhost:6379" }, /^REDIS_URL: /],
    [{ OPENAI_BASE_URL: "not a url" }, /^OPENAI_BASE_URL: /],
    [{ LOG_LEVEL: "loud" }, /^LOG_LEVEL: /],
    [{ GRAPHQL_MAX_DEPTH: "0" }, /^GRAPHQL_MAX_DEPTH: /],
    [{ GRAPHQL_MAX_COST: "lots" }, /^GRAPHQL_MAX_COST: /],
    [{ GRAPHQL_MAX_ALIASES: "-1" }, /^GRAPHQL_MAX_ALIASES: /],
    [{ REMOTE_FILE_MAX_BYTES: "0" }, /^REMOTE_FILE_MAX_BYTES: /],
    [{ REMOTE_FILE_TIMEOUT_MS: "soon" }, /^REMOTE_FILE_TIMEOUT_MS: /],
    [{ MAX_CONNECTIONS: "0" }, /^MAX_CONNECTIONS: /],
    [{ WRITE_TIMEOUT_MS: "1.5" }, /^WRITE_TIMEOUT_MS: /],
    [{ REQUEST_TIMEOUT_MS: "-1" }, /^REQUEST_TIMEOUT_MS: /],
    [{ HEADERS_TIMEOUT_MS: "20000", REQUEST_TIMEOUT_MS: "10000" }, /^HEADERS_TIMEOUT_MS: must not exceed REQUEST_TIMEOUT_MS \(10000\) \(got "20000"\)$/],
    [{ SECRET_KEY: "short" }, /^SECRET_KEY: must be at least 16 characters/],
    [{ DATABASE_URL: "postgresql://postgres@127.0.0.1/db" }, /^SECRET_KEY: required when DATABASE_URL is set/],
    [{ TRUST_PROXY: "yes" }, /^TRUST_PROXY: must be false, true or the number of proxies/],
    [{ CORS_ALLOW_ORIGINS: "chat.example.com" }, /^CORS_ALLOW_ORIGINS: "chat.example.com" is not an origin/],
    [{ S3_BUCKET: "My_Uploads" }, /^S3_BUCKET: must be a bucket name/],
    [{ S3_BUCKET: "uploads", S3_ENDPOINT: "127.0.0.1:9000" }, /^S3_ENDPOINT: /],
    [{ S3_BUCKET: "uploads", S3_REGION: "US East" }, /^S3_REGION: must be a region name/],
    [{ S3_BUCKET: "uploads", S3_FORCE_PATH_STYLE: "yes" }, /^S3_FORCE_PATH_STYLE: must be true or false \(got "yes"\)$/],
    [{ S3_BUCKET: "uploads", S3_ACCESS_KEY_ID: "id" }, /^S3_SECRET_ACCESS_KEY: required when S3_ACCESS_KEY_ID is set/],
    [{ S3_ENDPOINT: "http://127.0.0.1:9000" }, /^S3_BUCKET: required when S3_ENDPOINT is set/],
  ])("refuses %o naming the variable", (env, message) => {
    expect(() => loadConfig({ DATA_DIR: tmp(), ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: tmp(), ...env })).toThrow(message);
  });

  it("stops the server at start-up with one clear line", () => {
    const server = fileURLToPath(new URL("../dist/server.js", import.meta.url));
    const r = spawnSync(process.execPath, [server], { env: { PATH: process.env.PATH, DATA_DIR: tmp(), PORT: "eighty" }, encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^appgraph: configuration error: PORT: .*"eighty"/)]);
  });
});
