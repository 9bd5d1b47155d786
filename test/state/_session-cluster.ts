/**
 * Gateways sharing their MCP sessions through one real redis-server (docs/scale-out.md), as the
 * session-routing attack tests start them: each instance in-process (HTTP on a free port, the
 * fixture upstream `fx`, its own audit file), the callers' tokens and the sessions' secret in the
 * environment, and a Redis client that reads and writes the route records directly.
 */
import { createHmac, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { expect } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import { startGateway, stdioUpstream, tempDir, writeGatewayFiles } from "../mcp/helpers.js";
import { INIT, postRaw } from "../mcp/http-raw.js";
import { RedisServer } from "./redis-server.js";

export type SessionInstance = { gw: Gateway; url: string; audit: string };

export interface SessionCluster {
  readonly redis: RedisServer;
  /** Reads and writes the route records (`<prefix>:session:<id>`) directly. */
  readonly peek: Redis;
  /** Each caller's bearer token, by name. */
  readonly tokens: Readonly<Record<string, string>>;
  /** The route records' signing secret (state.sessions.secret_env). */
  readonly secret: string;
  /** Write a gateway config into `dir` (audit at `dir/audit.jsonl`); its path. */
  config(dir: string): string;
  /** An in-process gateway on config(dir) (dir: a new folder, by default). */
  start(dir?: string): Promise<SessionInstance>;
  /** The route record an instance writes for session `id` owned at `url`, signed. */
  sign(id: string, url: string): string;
  /** Redis and the client closed (the gateways are the caller's). */
  close(): Promise<void>;
}

/**
 * A redis-server and the config of gateways on it under `prefix` (the key prefix `<prefix>:`,
 * environment variables `<PREFIX>_<CALLER>` and `<PREFIX>_SECRET`, a random secret), the callers
 * named in `tokens` with their bearer tokens; `listen`: more keys of listen.http (`, key: value`).
 */
export async function sessionCluster(
  prefix: string,
  tokens: Readonly<Record<string, string>>,
  listen = "",
): Promise<SessionCluster> {
  const env = (name: string) => `${prefix.toUpperCase()}_${name.toUpperCase()}`;
  const callers = Object.keys(tokens);
  for (const c of callers) process.env[env(c)] = tokens[c];
  const secret = `${prefix}-${randomUUID()}`;
  process.env[env("secret")] = secret;
  const redis = await RedisServer.start();
  const peek = new Redis(redis.url, { maxRetriesPerRequest: 0 });
  peek.on("error", () => {});
  const config = (dir: string) =>
    writeGatewayFiles(
      dir,
      `listen: { http: { host: 127.0.0.1, port: 0, path: /mcp${listen} } }
auth: { tokens: [${callers.map((c) => `{ name: ${c}, env: ${env(c)} }`).join(", ")}] }
policy: ./policy.yaml
audit: { file: ${join(dir, "audit.jsonl")} }
state:
  dir: ${dir}/state
  redis: { url: "${redis.url}", key_prefix: "${prefix}:" }
  sessions: { secret_env: ${env("secret")}, ttl_seconds: 30 }
upstreams:
${stdioUpstream("fx")}`,
    );
  return {
    redis,
    peek,
    tokens,
    secret,
    config,
    async start(dir = tempDir()) {
      mkdirSync(dir, { recursive: true });
      return { ...(await startGateway(config(dir))), audit: join(dir, "audit.jsonl") };
    },
    sign: (id, url) =>
      JSON.stringify({
        url,
        sig: createHmac("sha256", secret)
          .update(`warden session route v1\n${id}\n${url}`)
          .digest("base64url"),
      }),
    async close() {
      peek.disconnect();
      await redis.close();
    },
  };
}

/** The lines of a JSON-lines audit file, unchecked (none while it does not exist). */
export function jsonLines(file: string): Record<string, unknown>[] {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    return [];
  }
}

/** Initialize a session on `url` with `headers` (a bearer token) and say it is initialized. */
export async function initOn(url: string, headers: Record<string, string>): Promise<string> {
  const r = await postRaw(url, INIT, headers);
  expect(r.status).toBe(200);
  await r.text();
  const id = r.headers.get("mcp-session-id")!;
  const note = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });
  await (await postRaw(url, note, { ...headers, "mcp-session-id": id })).text();
  return id;
}
