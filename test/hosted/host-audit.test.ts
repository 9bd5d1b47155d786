/**
 * Host calls in the audit, in /metrics and in the tool's answer (issue 21): a component's host
 * calls (here wasi:filesystem opens) leave one audit line each, in the gateway's record shape
 * (docs/audit.schema.json, kind host_call), naming the decision, the rule, the component, the
 * tool, the caller and the session, under `warden serve --audit` and under `warden gateway` with
 * a component upstream (its audit sink, and its /metrics). A refused one makes the tool's answer
 * say what was refused and what to add. A component flooding refused calls: the events crossing
 * from its worker are bounded, the drops counted, the process unharmed. Real SDK clients.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import { type AuditLine, auditLines } from "../mcp/audit-schema.js";
import { CLI, httpClient, startGateway, tempDir, until } from "../mcp/helpers.js";
import { CACHE } from "./build.js";
import { wasiComponent } from "./wasi/components.js";

let flooder: string;
let root: string;
let policy: string;

type Answer = {
  content: { type: string; text: string }[];
  structuredContent?: { result?: unknown };
  isError?: boolean;
  _meta?: Record<string, unknown>;
};

const texts = (a: Answer) => a.content.map((c) => c.text).join("\n");
const hostLines = (file: string) => auditLines(file).filter((l) => l.kind === "host_call");

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  flooder = await wasiComponent("flooder");
  root = tempDir();
  mkdirSync(join(root, "allowed"));
  for (const f of ["data.txt", "secret.txt", "notes.md"])
    writeFileSync(join(root, "allowed", f), f);
  policy = join(root, "policy.yaml");
  writeFileSync(
    policy,
    [
      'version: "1.0"',
      "mcp:",
      "  transport: { stdio: true, http: true }",
      '  tools: { allow: ["tools.*"] }',
      "storage:",
      "  allow:",
      `    - uri: "fs://${root}/allowed"`,
      "      access: [read]",
      `    - uri: "fs://${root}/allowed/*.txt"`,
      "      access: [read]",
      "  deny:",
      `    - uri: "fs://${root}/allowed/secret*"`,
      "",
    ].join("\n"),
  );
});

describe("warden serve --audit: host calls as audit lines, refusals in the answer", () => {
  it("each open is an audit line (decision, rule, component, tool, caller, session); a refused one's answer says what to add", {
    timeout: 120_000,
  }, async () => {
    const audit = join(root, "serve-audit.jsonl");
    const t = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "serve", flooder, "--policy", policy, "--workers", "1", "--audit", audit],
      env: { ...process.env, WARDEN_CACHE_DIR: CACHE } as Record<string, string>,
      stderr: "pipe",
    });
    const c = new Client({ name: "host-audit", version: "1" });
    await c.connect(t);
    try {
      const ok = (await c.callTool({
        name: "tools.open",
        arguments: { path: "data.txt" },
      })) as Answer;
      expect(ok.structuredContent?.result).toBe(0);
      expect(texts(ok)).not.toContain("Warden refused");

      // A deny rule refuses it: the answer names the file, the rule and its line.
      const secret = (await c.callTool({
        name: "tools.open",
        arguments: { path: "secret.txt" },
      })) as Answer;
      expect(secret.structuredContent?.result).toBe(100); // access
      expect(texts(secret)).toContain(
        `Warden refused 1 host call of component "flooder":\n- Warden refused wasi:filesystem/types [method]descriptor.open-at ${root}/allowed/secret.txt`,
      );
      expect(texts(secret)).toContain(`(storage.deny[0], ${policy}:12)`);

      // No rule allows it: the answer says what to add under storage.allow.
      const notes = (await c.callTool({
        name: "tools.open",
        arguments: { path: "notes.md" },
      })) as Answer;
      expect(notes.structuredContent?.result).toBe(100);
      expect(texts(notes)).toContain(
        `to allow it, add \`- { uri: "${root}/allowed/notes.md", access: [read] }\` under storage.allow`,
      );
      expect(notes._meta?.["warden/denials"]).toEqual([
        expect.objectContaining({
          function: "wasi:filesystem/types.[method]descriptor.open-at",
          target: `${root}/allowed/notes.md`,
          wasi_error: "access",
        }),
      ]);
      // The host calls are for the audit, not for the client.
      expect(notes._meta?.["warden/host_calls"]).toBeUndefined();
    } finally {
      await c.close();
    }
    await until(() => hostLines(audit).length >= 3, 20_000, "the host-call audit lines");
    const lines = hostLines(audit);
    const opens = lines.filter((l) =>
      (l.host as { function: string }).function.includes("open-at"),
    );
    expect(opens.map((l) => [l.decision, (l.host as { target: string }).target])).toEqual([
      ["allow", `${root}/allowed/data.txt`],
      ["deny", `${root}/allowed/secret.txt`],
      ["deny", `${root}/allowed/notes.md`],
    ]);
    for (const l of lines)
      expect(l).toMatchObject({
        phase: "event",
        kind: "host_call",
        caller: "stdio",
        client: "host-audit@1",
        session: lines[0]!.session,
        method: "tools/call",
        name: "tools.open",
        host: { component: "flooder" },
      });
    expect(opens[0]).toMatchObject({ rule: `${policy}:9`, rule_id: "storage.allow[1]" });
    expect(opens[1]).toMatchObject({
      rule: `${policy}:12`,
      rule_id: "storage.deny[0]",
      host: { code: "deny_rule", wasi_error: "access" },
    });
    expect(opens[2]).toMatchObject({ host: { code: "no_rule", wasi_error: "access" } });
    expect((opens[2]!.host as { hint: string }).hint).toContain("under storage.allow");
    // One tool call's lines share its call_id; two calls do not.
    expect(new Set(lines.map((l) => l.call_id)).size).toBe(3);
  });
});

describe("warden serve --audit: environment reads", () => {
  it("each get-environment call is a line naming the keys given and the keys hidden, never a value", {
    timeout: 120_000,
  }, async () => {
    const envreader = await wasiComponent("envreader");
    const dir = tempDir();
    const p = join(dir, "env.yaml");
    writeFileSync(p, 'version: "1.0"\nenvironment:\n  allow:\n    - key: API_KEY\n');
    const audit = join(dir, "audit.jsonl");
    const t = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "serve", envreader, "--policy", p, "--workers", "1", "--audit", audit],
      env: {
        ...process.env,
        WARDEN_CACHE_DIR: CACHE,
        API_KEY: "k-1",
        MY_SECRET_TOKEN: "s3cr3t-value",
      } as Record<string, string>,
      stderr: "pipe",
    });
    const c = new Client({ name: "host-audit-env", version: "1" });
    await c.connect(t);
    try {
      for (let i = 0; i < 2; i++) {
        const r = (await c.callTool({ name: "tools.count", arguments: {} })) as Answer;
        expect(r.structuredContent?.result).toBe(1);
      }
    } finally {
      await c.close();
    }
    await until(() => hostLines(audit).length >= 2, 20_000, "the environment lines");
    const lines = hostLines(audit);
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l).toMatchObject({
        decision: "allow",
        name: "tools.count",
        host: { component: "envreader", function: "get-environment", target: "API_KEY" },
      });
      expect((l.host as { hidden: string[] }).hidden).toContain("MY_SECRET_TOKEN");
    }
    expect(readFileSync(audit, "utf8")).not.toContain("s3cr3t-value");
  });
});

describe("a component upstream: host calls in the gateway's audit and /metrics", () => {
  let gw: Gateway;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    dir = tempDir();
    const config = join(dir, "warden.yaml");
    writeFileSync(
      config,
      [
        "listen: { http: { port: 0 } }",
        `policy: ${JSON.stringify(policy)}`,
        "audit: { file: ./audit.jsonl }",
        "telemetry: { metrics: { path: /metrics } }",
        "upstreams:",
        "  - name: files",
        `    component: ${JSON.stringify(flooder)}`,
        "",
      ].join("\n"),
    );
    process.env.WARDEN_CACHE_DIR = CACHE;
    ({ gw, url } = await startGateway(config));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const metrics = async () => (await fetch(url.replace(/\/mcp$/, "/metrics"))).text();

  it("each host call is an event line of the tools/call (its call_id, caller, session), counted per host function", {
    timeout: 120_000,
  }, async () => {
    const c = await httpClient(url);
    try {
      const ok = (await c.callTool({
        name: "tools.open",
        arguments: { path: "data.txt" },
      })) as Answer;
      expect(ok.structuredContent?.result).toBe(0);
      expect(ok._meta?.["warden/host_calls"]).toBeUndefined();
      const no = (await c.callTool({
        name: "tools.open",
        arguments: { path: "secret.txt" },
      })) as Answer;
      expect(texts(no)).toContain("storage.deny[0]");
      expect(no._meta?.["warden/host_calls"]).toBeUndefined();
    } finally {
      await c.close();
    }
    const file = join(dir, "audit.jsonl");
    await until(() => auditLines(file).filter((l) => l.phase === "outcome").length >= 2);
    const all = auditLines(file);
    const calls = all.filter((l) => l.method === "tools/call" && l.phase === "decision");
    const opens = all.filter(
      (l) =>
        l.kind === "host_call" && (l.host as { function: string }).function.includes("open-at"),
    );
    expect(opens).toHaveLength(2);
    for (const [i, l] of opens.entries())
      expect(l).toMatchObject({
        call_id: calls[i]!.call_id,
        caller: calls[i]!.caller,
        session: calls[i]!.session,
        upstream: "files",
        name: "tools.open",
        decision: i === 0 ? "allow" : "deny",
        host: { component: "flooder", interface: "wasi:filesystem/types" },
      });
    expect(opens[1]).toMatchObject({ rule: `${policy}:12`, rule_id: "storage.deny[0]" });
    // The host-call lines come between the call's decision and outcome lines.
    const at = (l: AuditLine) => all.indexOf(l);
    const outcome = all.find((l) => l.phase === "outcome" && l.call_id === calls[1]!.call_id)!;
    expect(at(opens[1]!)).toBeGreaterThan(at(calls[1]!));
    expect(at(opens[1]!)).toBeLessThan(at(outcome));

    const m = await metrics();
    const fn = "wasi:filesystem/types.[method]descriptor.open-at";
    expect(m).toContain(
      `warden_hosted_host_calls_total{upstream="files",component="flooder",function="${fn}",decision="allow"} 1`,
    );
    expect(m).toContain(
      `warden_hosted_host_calls_total{upstream="files",component="flooder",function="${fn}",decision="deny"} 1`,
    );
    expect(m).toContain(
      `warden_hosted_host_call_seconds_count{upstream="files",component="flooder",function="${fn}"} 2`,
    );
  });

  it("a component flooding refused host calls: bounded audit lines, every call counted, drops counted, the gateway unharmed", {
    timeout: 120_000,
  }, async () => {
    const N = 5_000;
    const file = join(dir, "audit.jsonl");
    const before = auditLines(file).length;
    const c = await httpClient(url);
    try {
      const flood = (await c.callTool({
        name: "tools.flood",
        arguments: { path: "secret.txt", n: N },
      })) as Answer;
      expect(flood.structuredContent?.result).toBe(N);
      expect(texts(flood)).toContain(`Warden refused ${N} host calls of component "flooder"`);
      // Still serving.
      const ok = (await c.callTool({
        name: "tools.open",
        arguments: { path: "data.txt" },
      })) as Answer;
      expect(ok.structuredContent?.result).toBe(0);
    } finally {
      await c.close();
    }
    await until(() => auditLines(file).filter((l) => l.phase === "outcome").length >= 4);
    const lines = auditLines(file).slice(before);
    const flooded = lines.filter((l) => l.kind === "host_call" && l.name === "tools.flood");
    // At most 256 full lines per tool call, then one summary line per host function.
    expect(flooded.length).toBeLessThanOrEqual(256 + 2);
    const summary = flooded.filter((l) => (l.host as { count?: number }).count !== undefined);
    const counted =
      flooded.length -
      summary.length +
      summary.reduce((n, l) => n + (l.host as { count: number }).count, 0);
    expect(counted).toBe(N);
    const m = await metrics();
    expect(m).toMatch(
      new RegExp(
        `warden_hosted_host_calls_total\\{upstream="files",component="flooder",function="wasi:filesystem/types\\.\\[method\\]descriptor\\.open-at",decision="deny"\\} ${N + 1}\\b`,
      ),
    );
    expect(m).toMatch(
      /warden_hosted_host_events_dropped_total\{upstream="files",component="flooder"\} \d+/,
    );
  });
});
