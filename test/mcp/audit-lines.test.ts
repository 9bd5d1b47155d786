// The audit misses nothing (issue 18, 2c): a call cancelled at once, calls in flight on
// SIGTERM, and denials with deep or huge arguments all leave their lines, in the one documented
// shape (every line read here is validated against docs/audit.schema.json). Real gateway
// processes (dist/cli/main.js gateway) over stdio, a real slow SDK upstream.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { type AuditLine, auditLines } from "./audit-schema.js";
import { CLI, ROOT, stdioUpstream, tempDir, until, writeGatewayFiles } from "./helpers.js";

const HOLD = join(ROOT, "test/mcp/fixtures/hold-server.mjs");
/** Calls in flight at SIGTERM: 300 in CI; WARDEN_AUDIT_INFLIGHT=2000 for the figure. */
const INFLIGHT = Number(process.env.WARDEN_AUDIT_INFLIGHT ?? 300);

const POLICY = `version: "1.0"
mcp:
  transport: { stdio: true }
  tools:
    allow: ["hold", "echo", "slow"]
    deny: ["stats"]
`;

const running: ChildProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
});

interface Raw {
  proc: ChildProcess;
  dir: string;
  audit: string;
  send(m: unknown): void;
  answers: Map<unknown, { result?: unknown; error?: { code: number; message: string } }>;
  exited: Promise<number | null>;
}

/** The real CLI gateway over stdio, driven with raw JSON-RPC lines. */
async function rawGateway(upstreams: string, auditOpts = ""): Promise<Raw> {
  const dir = tempDir();
  const cfg = writeGatewayFiles(
    dir,
    `listen: stdio\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl${auditOpts} }\nupstreams:\n${upstreams}`,
    POLICY,
  );
  const proc = spawn(process.execPath, [CLI, "gateway", "--config", cfg, "--no-watch"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  running.push(proc);
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  const answers: Raw["answers"] = new Map();
  createInterface({ input: proc.stdout! }).on("line", (l) => {
    const m = JSON.parse(l) as { id?: unknown };
    if (m.id !== undefined) answers.set(m.id, m as never);
  });
  const send = (m: unknown) => proc.stdin!.write(`${JSON.stringify(m)}\n`);
  send({
    jsonrpc: "2.0",
    id: "init",
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "auditor", version: "1" },
    },
  });
  await until(() => answers.has("init"), 15_000, "initialize answer");
  send({ jsonrpc: "2.0", method: "notifications/initialized" });
  return { proc, dir, audit: join(dir, "audit.jsonl"), send, answers, exited };
}

function holdUpstream(record: string): string {
  return `  - name: slowpoke\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(HOLD)}, ${JSON.stringify(record)}]\n`;
}

function received(record: string): number[] {
  if (!existsSync(record)) return [];
  return readFileSync(record, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as number);
}

function byCall(lines: AuditLine[]): Map<string, AuditLine[]> {
  const m = new Map<string, AuditLine[]>();
  for (const l of lines) {
    const id = l.call_id as string;
    m.set(id, [...(m.get(id) ?? []), l]);
  }
  return m;
}

describe("audit lines: every call that reached an upstream has a line", () => {
  it("a tools/call cancelled at once has its decision line and a cancelled outcome", async () => {
    const g = await rawGateway(stdioUpstream("fx"));
    const call = {
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "slow", arguments: { ms: 60_000, steps: 1 } },
    };
    // One write: the call and its cancellation arrive together.
    g.proc.stdin!.write(
      `${JSON.stringify(call)}\n${JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 7, reason: "user" } })}\n`,
    );
    await until(
      () => auditLines(g.audit).some((l) => l.phase === "outcome" && l.method === "tools/call"),
      10_000,
      "the outcome line",
    );
    const lines = auditLines(g.audit).filter((l) => l.method === "tools/call");
    expect(lines).toHaveLength(2);
    const [decision, outcome] = lines;
    expect(decision).toMatchObject({
      phase: "decision",
      caller: "stdio",
      upstream: "fx",
      name: "slow",
      decision: "allow",
      rule: expect.stringMatching(/policy\.yaml:\d+/),
      rule_id: expect.stringMatching(/^mcp\.tools\.allow\[\d+\]$/),
      arguments: { ms: "<number>", steps: "<number>" },
    });
    expect(outcome).toMatchObject({
      call_id: decision!.call_id,
      phase: "outcome",
      name: "slow",
      decision: "allow",
      outcome: "cancelled",
    });
    expect(outcome).not.toHaveProperty("arguments");
    g.proc.stdin!.end();
    expect(await g.exited).toBe(0);
  }, 30_000);

  it(`on SIGTERM with ${INFLIGHT} calls in flight, every forwarded call has a decision and a cut_off line`, async () => {
    const dir = tempDir();
    const record = join(dir, "received.txt");
    const g = await rawGateway(holdUpstream(record), ", arguments: full");
    const batch: string[] = [];
    for (let n = 0; n < INFLIGHT; n++)
      batch.push(
        JSON.stringify({
          jsonrpc: "2.0",
          id: n,
          method: "tools/call",
          params: { name: "hold", arguments: { n } },
        }),
      );
    g.proc.stdin!.write(`${batch.join("\n")}\n`);
    // Stop while calls are still arriving: some reached the upstream, some did not.
    await until(() => received(record).length >= INFLIGHT / 2, 60_000, "half the calls upstream");
    g.proc.kill("SIGTERM");
    expect(await g.exited).toBe(0);
    const got = received(record);
    const lines = auditLines(g.audit).filter((l) => l.method === "tools/call");
    const calls = byCall(lines);
    const decisionOf = new Map<number, AuditLine>();
    for (const l of lines)
      if (l.phase === "decision") decisionOf.set((l.arguments as { n: number }).n, l);
    // Every call the upstream received was audited when it was forwarded...
    const missing = got.filter((n) => !decisionOf.has(n));
    expect(missing, `calls the upstream got without a decision line: ${missing.length}`).toEqual(
      [],
    );
    // ...and every forwarded call has its outcome: cut off by the shutdown.
    for (const [n, d] of decisionOf) {
      expect(d).toMatchObject({ decision: "allow", name: "hold", upstream: "slowpoke" });
      const outcome = calls.get(d.call_id as string)!.filter((l) => l.phase === "outcome");
      expect(outcome, `call ${n}`).toHaveLength(1);
      expect(outcome[0]).toMatchObject({ outcome: "cut_off", decision: "allow" });
    }
    expect(got.length).toBeGreaterThanOrEqual(INFLIGHT / 2);
  }, 120_000);
});

describe("audit lines: an upstream failure is an outcome, not a denial", () => {
  it("records a call whose upstream died as allowed, outcome failed, with the -32004 error", async () => {
    const dir = tempDir();
    const g = await rawGateway(holdUpstream(join(dir, "received.txt")));
    g.send({
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "hold", arguments: { n: "exit" } },
    });
    await until(() => g.answers.has(3), 10_000, "the answer");
    expect(g.answers.get(3)!.error).toMatchObject({ code: -32004 });
    await until(
      () => auditLines(g.audit).some((l) => l.phase === "outcome" && l.method === "tools/call"),
      5000,
      "the outcome line",
    );
    const lines = auditLines(g.audit).filter((l) => l.method === "tools/call");
    expect(lines.map((l) => [l.phase, l.decision])).toEqual([
      ["decision", "allow"],
      ["outcome", "allow"],
    ]);
    expect(lines[1]).toMatchObject({
      call_id: lines[0]!.call_id,
      outcome: "failed",
      error: { code: -32004, message: expect.stringMatching(/Upstream "slowpoke" is unavailable/) },
    });
    g.proc.stdin!.end();
    expect(await g.exited).toBe(0);
  }, 30_000);
});

describe("audit lines: a denial is always written, its arguments bounded", () => {
  it("writes the denial of a call with huge arguments, cut to the bound with a marker", async () => {
    const g = await rawGateway(stdioUpstream("fx"), ", arguments: full");
    const huge = "x".repeat(1_000_000);
    g.send({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "stats", arguments: { list: Array(5000).fill(1), blob: huge } },
    });
    await until(() => g.answers.has(1), 10_000, "the denial");
    expect(g.answers.get(1)!.error).toMatchObject({ code: -32003 });
    await until(() => auditLines(g.audit).some((l) => l.decision === "deny"), 5000, "deny line");
    const text = readFileSync(g.audit, "utf8");
    const line = auditLines(g.audit).find((l) => l.decision === "deny")!;
    expect(line).toMatchObject({ phase: "decision", name: "stats", arguments_truncated: true });
    const args = line.arguments as { blob: string; list: unknown[] };
    expect(args.blob).toMatch(/^x+<…\d+ more chars>$/);
    expect(args.list.at(-1)).toMatch(/^<…\d+ more items>$/);
    expect(text.length).toBeLessThan(20_000);
    g.proc.stdin!.end();
    expect(await g.exited).toBe(0);
  }, 30_000);

  it("writes the denial of a call with deep arguments, cut at the audit's depth bound", async () => {
    // 100 levels: within limits.json_depth (128), so the call is judged and denied, and the
    // audit line keeps only audit.max_depth (4) of them.
    const g = await rawGateway(stdioUpstream("fx"), ", arguments: full, max_depth: 4");
    const deep = `${"[".repeat(100)}${"]".repeat(100)}`;
    g.proc.stdin!.write(
      `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"stats","arguments":{"deep":${deep}}}}\n`,
    );
    await until(() => g.answers.has(2), 10_000, "the answer");
    expect(g.answers.get(2)!.error).toMatchObject({ code: -32003 });
    await until(() => auditLines(g.audit).some((l) => l.decision === "deny"), 5000, "deny line");
    const line = auditLines(g.audit).find((l) => l.decision === "deny")!;
    expect(line).toMatchObject({
      name: "stats",
      arguments: { deep: [[["<…depth>"]]] },
      arguments_truncated: true,
    });
    // 20,000 levels: past limits.json_depth, refused before it is judged; the gateway stays up.
    g.proc.stdin!.write(
      `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"stats","arguments":{"deep":${"[".repeat(20_000)}${"]".repeat(20_000)}}}}\n`,
    );
    await until(() => g.answers.has(3), 10_000, "the refusal");
    expect(g.answers.get(3)!.error).toMatchObject({ code: -32600 });
    g.proc.stdin!.end();
    expect(await g.exited).toBe(0);
  }, 30_000);
});
