// A shared upstream (`sessions: shared`, issue 18 point 4) that crashes fails every session's calls
// in flight, each with an outcome audit line, and every session keeps working after the restart;
// rate limits and audit lines stay those of each client session and its caller.
import { join } from "node:path";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/mcp/audit.js";
import type { Gateway } from "../../src/mcp/gateway.js";
import { auditLines as readAudit } from "./audit-schema.js";
import {
  alive,
  type ClientLog,
  httpClient,
  startGateway,
  stdioUpstream,
  tempDir,
  until,
  writeGatewayFiles,
} from "./helpers.js";

const POLICY = `version: "1.0"
mcp:
  transport: { http: true, stdio: true }
  tools:
    allow:
      - "slow"
      - "stats"
      - "echo"
      - name: "add"
        max_calls_per_minute: 2
`;

const body = (r: unknown) =>
  (r as { content: { text: string }[] }).content.map((x) => x.text).join("\n");

/** The gateway's audit lines, each checked against docs/audit.schema.json. */
const auditLines = (dir: string) => readAudit(join(dir, "audit.jsonl")) as unknown as AuditRecord[];

const sessionOf = (c: { transport?: unknown }) =>
  (c.transport as StreamableHTTPClientTransport).sessionId!;

describe("a shared upstream that crashes", () => {
  let gw: Gateway;
  let url: string;
  let dir: string;
  beforeAll(async () => {
    process.env.WARDEN_SHARED_ALICE = "alice-secret";
    process.env.WARDEN_SHARED_BOB = "bob-secret";
    dir = tempDir();
    const cfg = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0 } }\nauth: { tokens: [{ name: alice, env: WARDEN_SHARED_ALICE }, { name: bob, env: WARDEN_SHARED_BOB }] }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nrestart: { initial_ms: 200, max_ms: 1000 }\nupstreams:\n${stdioUpstream("fx")}    sessions: shared\n`,
      POLICY,
    );
    ({ gw, url } = await startGateway(cfg));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const as = (who: string, log?: ClientLog) =>
    httpClient(url, log, { authorization: `Bearer ${who}-secret` });

  it("rate limits and audit lines stay per caller and session", async () => {
    const a = await as("alice");
    const b = await as("bob");
    try {
      for (let i = 0; i < 2; i++)
        expect(body(await a.callTool({ name: "add", arguments: { a: i, b: 1 } }))).toMatch(/sum/);
      const third = await a.callTool({ name: "add", arguments: { a: 9, b: 1 } }).catch((e) => e);
      expect(third).toBeInstanceOf(McpError);
      expect((third as McpError).code).toBe(-32003);
      // bob's budget is his own, though the upstream process is the same
      expect(body(await b.callTool({ name: "add", arguments: { a: 1, b: 1 } }))).toMatch(/sum/);
      await until(
        () =>
          auditLines(dir).filter((l) => l.name === "add" && l.phase === "decision").length === 4,
      );
      const adds = auditLines(dir).filter((l) => l.name === "add" && l.phase === "decision");
      expect(adds.map((l) => [l.caller, l.session, l.decision])).toEqual([
        ["alice", sessionOf(a), "allow"],
        ["alice", sessionOf(a), "allow"],
        ["alice", sessionOf(a), "deny"],
        ["bob", sessionOf(b), "allow"],
      ]);
      expect(sessionOf(a)).not.toBe(sessionOf(b));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("fails every session's calls in flight, audits each, and every session works after the restart", async () => {
    const logA: ClientLog = { roots: [], notifications: [] };
    const logB: ClientLog = { roots: [], notifications: [] };
    const a = await as("alice", logA);
    const b = await as("bob", logB);
    try {
      const shared = gw.shared.get("fx")!;
      const started = async () =>
        (
          JSON.parse(body(await a.callTool({ name: "stats", arguments: {} }))) as {
            slowStarted: number;
          }
        ).slowStarted;
      const s0 = await started();
      const calls = [a, b].map((c) =>
        c.callTool({ name: "slow", arguments: { ms: 60_000, steps: 1 } }).catch((e) => e),
      );
      await until(async () => (await started()) === s0 + 2);
      const pid = shared.pid()!;
      process.kill(pid, "SIGKILL");
      for (const e of await Promise.all(calls)) {
        expect(e).toBeInstanceOf(McpError);
        expect((e as McpError).code).toBe(-32004);
      }
      await until(
        () =>
          auditLines(dir).filter((l) => l.name === "slow" && l.outcome === "failed").length === 2,
      );
      const failed = auditLines(dir).filter((l) => l.name === "slow" && l.outcome === "failed");
      expect(failed.map((l) => [l.caller, l.session]).sort()).toEqual([
        ["alice", sessionOf(a)],
        ["bob", sessionOf(b)],
      ]);
      // restarted once, and both sessions work again, through the one new process
      const works = async (c: typeof a) =>
        c
          .callTool({ name: "echo", arguments: { text: "back" } })
          .then((r) => body(r) === "back")
          .catch(() => false);
      await until(async () => (await works(a)) && (await works(b)), 15_000, "both sessions back");
      expect(shared.pid()).not.toBe(pid);
      expect(alive(pid)).toBe(false);
      // every open session (the first test's too: its clients left without DELETE) is back on it
      await until(() => shared.sessions === gw.sessions.size, 15_000, "every session back");
      for (const s of gw.sessions) expect(s.upstreams()[0]!.pid).toBe(shared.pid());
      for (const l of [logA, logB])
        await until(() =>
          l.notifications.some((n) => n.method === "notifications/tools/list_changed"),
        );
    } finally {
      await a.close();
      await b.close();
    }
  });
});
