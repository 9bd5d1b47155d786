// Audit: a decision line per judged call and an outcome line per forwarded one (docs/audit.md,
// each line validated against docs/audit.schema.json); nothing lost on SIGTERM under load;
// SIGHUP reopens the file after rotation. Drives the real CLI over HTTP.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, renameSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { auditLines } from "./audit-schema.js";
import { CLI, stdioUpstream, tempDir, until, writeGatewayFiles } from "./helpers.js";

interface Started {
  proc: ChildProcess;
  url: string;
  dir: string;
  exited: Promise<number | null>;
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
});

async function startCli(): Promise<Started> {
  const dir = tempDir();
  const cfg = writeGatewayFiles(
    dir,
    `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n${stdioUpstream("fx")}`,
  );
  const proc = spawn(process.execPath, [CLI, "gateway", "--config", cfg], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  running.push(proc);
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  let err = "";
  proc.stderr!.on("data", (d) => {
    err += String(d);
  });
  await until(() => /listening on (\S+)/.test(err), 15_000, "gateway to listen");
  return { proc, url: err.match(/listening on (\S+)/)![1]!, dir, exited };
}

/** Raw JSON-RPC over keep-alive HTTP (a load generator that is not the bottleneck). */
function rpc(
  url: string,
  body: unknown,
  session?: string,
): Promise<{ status: number; session?: string; json?: { result?: unknown; error?: unknown } }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    };
    if (session) headers["mcp-session-id"] = session;
    const req = request(url, { method: "POST", headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        text += c;
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          session: res.headers["mcp-session-id"] as string | undefined,
          // a JSON answer, or the gateway's one-event SSE answer
          json: text
            ? JSON.parse(text.startsWith("event:") ? text.split("data: ")[1]! : text)
            : undefined,
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

async function openSession(url: string): Promise<string> {
  const init = await rpc(url, {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "load", version: "1" },
    },
  });
  expect(init.status).toBe(200);
  await rpc(url, { jsonrpc: "2.0", method: "notifications/initialized" }, init.session);
  return init.session!;
}

describe("audit", () => {
  it("loses no decision on SIGTERM under load", async () => {
    const g = await startCli();
    const session = await openSession(g.url);
    let answered = 0;
    let id = 1;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const r = await rpc(
          g.url,
          {
            jsonrpc: "2.0",
            id: id++,
            method: "tools/call",
            params: { name: "echo", arguments: { text: "load" } },
          },
          session,
        ).catch(() => undefined);
        if (r?.status === 200 && r.json?.result) answered++;
        else return;
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    await until(() => answered >= 300, 30_000, "300 answered calls");
    g.proc.kill("SIGTERM");
    expect(await g.exited).toBe(0);
    stop = true;
    await Promise.all(workers);
    const lines = auditLines(join(g.dir, "audit.jsonl"));
    const decisions = lines.filter((l) => l.method === "tools/call" && l.phase === "decision");
    const outcomes = lines.filter((l) => l.method === "tools/call" && l.phase === "outcome");
    expect(outcomes.filter((l) => l.outcome === "answered").length).toBeGreaterThanOrEqual(
      answered,
    );
    // One outcome per decision, sharing its call_id; call_ids are unique.
    expect(new Set(decisions.map((l) => l.call_id)).size).toBe(decisions.length);
    expect(outcomes.map((l) => l.call_id).sort()).toEqual(decisions.map((l) => l.call_id).sort());
    for (const l of decisions) {
      expect(l).toMatchObject({
        session,
        caller: "anonymous",
        upstream: "fx",
        name: "echo",
        decision: "allow",
        arguments: { text: "<string:4>" },
      });
      expect(l.rule).toMatch(/policy\.yaml:\d+/);
    }
    expect(lines.some((l) => l.method === "initialize")).toBe(true);
  });

  it("records denials with the rule, and reopens the file on SIGHUP after rotation", async () => {
    const g = await startCli();
    const session = await openSession(g.url);
    const file = join(g.dir, "audit.jsonl");
    const denied = await rpc(
      g.url,
      { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "stats", arguments: {} } },
      session,
    );
    expect(denied.json?.error).toMatchObject({ code: -32003 });
    await until(() => auditLines(file).some((l) => l.decision === "deny"), 5000, "denial line");
    expect(auditLines(file).find((l) => l.decision === "deny")).toMatchObject({
      phase: "decision",
      method: "tools/call",
      name: "stats",
      rule: expect.stringMatching(/policy\.yaml:\d+/),
      rule_id: "mcp.tools.deny[0]",
      reason: expect.stringMatching(/mcp\.tools\.deny/),
    });
    renameSync(file, `${file}.1`);
    g.proc.kill("SIGHUP");
    await until(() => existsSync(file), 5000, "reopened audit file");
    await rpc(
      g.url,
      {
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "echo", arguments: { text: "x" } },
      },
      session,
    );
    await until(
      () => auditLines(file).some((l) => l.name === "echo" && l.phase === "outcome"),
      5000,
      "line in the new file",
    );
    expect(auditLines(`${file}.1`).some((l) => l.name === "echo")).toBe(false);
    g.proc.kill("SIGINT");
    expect(await g.exited).toBe(0);
  });
});
