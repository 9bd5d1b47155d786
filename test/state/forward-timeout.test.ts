// state.sessions.forward_timeout_ms (docs/scale-out.md, "Sessions"): two real `warden gateway`
// processes and a real redis-server; the instance holding a session hangs, first because its
// upstream's tool takes longer than the timeout (the owner sends its answer's head only with the
// answer), then because the owner process itself is stopped (SIGSTOP: the kernel accepts the
// connection, nothing answers). The other instance answers its client 504
// session_forward_timeout and writes an audit line naming the owner; once the owner answers
// again the session goes on. And the key's validation: no "never", a clear message.
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";
import { stdioUpstream, tempDir, until, writeGatewayFiles } from "../mcp/helpers.js";
import { INIT, postRaw } from "../mcp/http-raw.js";
import { type Instance, startInstance } from "./instances.js";
import { RedisServer } from "./redis-server.js";

const TOKEN = `alice-${randomUUID()}`;
const auth = { authorization: `Bearer ${TOKEN}` };
let redis: RedisServer;
let owner: Instance;
let other: Instance;
let otherAudit: string;

function instanceConfig(root: string, name: string, redisUrl: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  return writeGatewayFiles(
    dir,
    `listen: { http: { host: 127.0.0.1, port: 0, path: /mcp } }
auth: { tokens: [{ name: alice, env: T_ALICE }] }
policy: ./policy.yaml
audit: { file: ./audit.jsonl }
state:
  dir: ${dir}/state
  redis: { url: "${redisUrl}" }
  sessions: { secret_env: T_SECRET, forward_timeout_ms: 700 }
upstreams:
${stdioUpstream("fx")}`,
  );
}

type AuditLine = { code?: string; reason?: string; method?: string; caller?: string };
const auditLines = (file: string): AuditLine[] =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as AuditLine);

beforeAll(async () => {
  redis = await RedisServer.start();
  const root = tempDir();
  const env = { ...process.env, T_ALICE: TOKEN, T_SECRET: randomUUID() + randomUUID() };
  otherAudit = join(root, "other", "audit.jsonl");
  [owner, other] = await Promise.all([
    startInstance(instanceConfig(root, "owner", redis.url), env),
    startInstance(instanceConfig(root, "other", redis.url), env),
  ]);
}, 30_000);

afterAll(async () => {
  if (owner?.child.signalCode === null) owner.child.kill("SIGCONT");
  await Promise.all([owner?.stop(), other?.stop()]);
  await redis?.close();
});

async function initOnOwner(): Promise<string> {
  const r = await postRaw(owner.url, INIT, auth);
  expect(r.status).toBe(200);
  await r.text();
  const id = r.headers.get("mcp-session-id")!;
  const ok = await postRaw(
    owner.url,
    JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
    { ...auth, "mcp-session-id": id },
  );
  expect(ok.status).toBe(202);
  return id;
}

const call = (id: number, name: string, args: Record<string, unknown>) =>
  JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } });

describe("a forwarded request whose owner does not answer in time (state.sessions.forward_timeout_ms)", () => {
  it("the owner's tool call outlasts the timeout: 504 session_forward_timeout, audited naming the owner; the session goes on", async () => {
    const sid = await initOnOwner();
    const slow = await postRaw(other.url, call(2, "slow", { ms: 5000, steps: 1 }), {
      ...auth,
      "mcp-session-id": sid,
    });
    expect(slow.status).toBe(504);
    const body = (await slow.json()) as { error: { message: string; data: unknown } };
    expect(body.error.data).toEqual({ warden: "session_forward_timeout" });
    expect(body.error.message).toContain(owner.url);
    expect(body.error.message).toContain("state.sessions.forward_timeout_ms");
    await until(
      () => auditLines(otherAudit).some((l) => l.code === "session_forward_timeout"),
      5000,
      "the audit line",
    );
    const line = auditLines(otherAudit).find((l) => l.code === "session_forward_timeout")!;
    expect(line).toMatchObject({ method: "tools/call", caller: "alice", decision: "deny" });
    expect(line.reason).toContain(owner.url);
    expect(line.reason).toContain(sid);
    // a quick call of the same session, through the same instance, is answered
    const echo = await postRaw(other.url, call(3, "echo", { text: "still here" }), {
      ...auth,
      "mcp-session-id": sid,
    });
    expect(echo.status).toBe(200);
    expect(JSON.stringify(await echo.json())).toContain("still here");
  });

  it("the owner process hangs (SIGSTOP): 504 naming it, audited; once it runs again the session is served", async () => {
    const sid = await initOnOwner();
    const ping = JSON.stringify({ jsonrpc: "2.0", id: 4, method: "ping" });
    owner.child.kill("SIGSTOP");
    try {
      const r = await postRaw(other.url, ping, { ...auth, "mcp-session-id": sid });
      expect(r.status).toBe(504);
      const body = (await r.json()) as { error: { message: string; data: unknown } };
      expect(body.error.data).toEqual({ warden: "session_forward_timeout" });
      expect(body.error.message).toContain(owner.url);
      await until(
        () =>
          auditLines(otherAudit).some(
            (l) => l.code === "session_forward_timeout" && l.method === "ping",
          ),
        5000,
        "the audit line of the ping",
      );
    } finally {
      owner.child.kill("SIGCONT");
    }
    await until(
      async () =>
        (await postRaw(other.url, ping, { ...auth, "mcp-session-id": sid })).status === 200,
      10_000,
      "the session to be served again",
    );
  });
});

describe("state.sessions.forward_timeout_ms and tls.ca in warden.yaml", () => {
  const base = `listen: { http: { port: 0 } }\npolicy: ./p.yaml\nupstreams: [{ name: a, command: x }]\n`;
  const parse = (sessions: string) =>
    parseConfig(
      `${base}state: { redis: { url: "redis://127.0.0.1:1" }, sessions: { secret_env: S${sessions} } }\n`,
      "/etc/warden/w.yaml",
    );

  it("unset is 120 s, never unlimited; 0, negative, fractional, too large or not a number is refused naming the key", () => {
    const r = parse("");
    expect(r.ok && r.config.state?.sessions?.forwardTimeoutMs).toBe(120_000);
    const ok = parse(", forward_timeout_ms: 2500");
    expect(ok.ok && ok.config.state?.sessions?.forwardTimeoutMs).toBe(2500);
    // YAML null is unset, as for every key: the default, not "no timeout"
    const nul = parse(", forward_timeout_ms: null");
    expect(nul.ok && nul.config.state?.sessions?.forwardTimeoutMs).toBe(120_000);
    for (const bad of ["0", "-1", "1.5", "3600001", '"30s"', "false"]) {
      const p = parse(`, forward_timeout_ms: ${bad}`);
      expect(p.ok, bad).toBe(false);
      const text = p.ok ? "" : p.errors.map((e) => `${e.key}: ${e.message}`).join("\n");
      expect(text, bad).toMatch(/state\.sessions\.forward_timeout_ms/);
      expect(text, bad).toMatch(/100 to 3600000/);
    }
  });

  it("tls.ca is a path relative to warden.yaml; tls without ca is refused", () => {
    const r = parse(", tls: { ca: ./instances-ca.pem }");
    expect(r.ok && r.config.state?.sessions?.caFile).toBe("/etc/warden/instances-ca.pem");
    const p = parse(", tls: {}");
    expect(p.ok).toBe(false);
    expect(p.ok ? "" : p.errors.map((e) => e.key).join(" ")).toMatch(/state\.sessions\.tls/);
  });
});
