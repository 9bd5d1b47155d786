// `warden audit` through the real CLI (run `npm run build` first), on audit files written by a
// real gateway and by the audit writer: the table, --json, the filters, bad lines and options,
// and --follow across a real rotation and a truncation.
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, mkdirSync, renameSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLog, type AuditRecord } from "../../src/audit/index.js";
import {
  CLI,
  httpClient,
  startGateway,
  stdioUpstream,
  tempDir,
  until,
  writeGatewayFiles,
} from "../mcp/helpers.js";
import { run } from "./run-async.js";

const HOUR = 3_600_000;

function record(over: Partial<AuditRecord>): AuditRecord {
  return {
    time: new Date().toISOString(),
    call_id: "c-1",
    phase: "decision",
    caller: "ada",
    session: "s-1",
    upstream: "files",
    method: "tools/call",
    name: "read_file",
    decision: "allow",
    rule: "policy.yaml:9",
    duration_ms: 0.25,
    ...over,
  };
}

function writeAudit(file: string, records: AuditRecord[]): void {
  const log = new AuditLog({ file, arguments: "redacted" });
  for (const r of records) log.write(r);
  log.close();
}

describe("warden audit on a real gateway's audit", () => {
  let dir: string;
  let cfg: string;
  let audit: string;
  beforeAll(async () => {
    dir = tempDir();
    cfg = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n${stdioUpstream("fx")}`,
    );
    audit = join(dir, "audit.jsonl");
    const { gw, url } = await startGateway(cfg);
    let client: Client | undefined;
    try {
      client = await httpClient(url);
      await client.callTool({ name: "echo", arguments: { text: "hi" } });
      await expect(client.callTool({ name: "stats", arguments: {} })).rejects.toThrow();
    } finally {
      await client?.close();
      await gw.stop();
    }
  }, 60_000);

  it("prints a table: time, verdict, caller, upstream, method and tool, duration, rule and reason", async () => {
    const r = await run(["audit", audit]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      /^TIME \(UTC\) +VERDICT +CALLER +UPSTREAM +METHOD \/ TOOL +DURATION RULE \/ REASON$/,
    );
    const echo = lines.find((l) => l.includes("tools/call echo") && / allow /.test(l))!;
    expect(echo).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} allow +anonymous +fx +tools\/call echo +\d+\.\d\d ms .*policy\.yaml:\d+/,
    );
    expect(lines.some((l) => l.includes("tools/call echo") && / answered /.test(l))).toBe(true);
    const denied = lines.find((l) => l.includes("tools/call stats"))!;
    expect(denied).toMatch(
      / deny +anonymous +fx +tools\/call stats .*policy\.yaml:\d+ .*mcp\.tools\.deny\[0\]/,
    );
  });

  it("--json prints the matching lines as they are; --verdict, --tool and --caller filter them", async () => {
    const deny = await run(["audit", audit, "--json", "--verdict", "deny"]);
    expect(deny.code).toBe(0);
    const denied = deny.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(denied.length).toBeGreaterThan(0);
    for (const d of denied) expect(d.decision).toBe("deny");
    expect(denied.map((d) => d.name)).toContain("stats");

    const echo = await run(["audit", audit, "--json", "--tool", "ec*"]);
    const echoes = echo.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(echoes.map((e) => `${e.phase} ${e.name}`).sort()).toEqual([
      "decision echo",
      "outcome echo",
    ]);

    expect((await run(["audit", audit, "--json", "--caller", "anonymous"])).stdout).toContain(
      '"stats"',
    );
    expect((await run(["audit", audit, "--json", "--caller", "mallory"])).stdout).toBe("");
  });

  it("reads the file a warden.yaml writes with --config", async () => {
    const r = await run(["audit", "--config", cfg, "--json", "--tool", "stats"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n")[0]!).name).toBe("stats");
  });
});

describe("warden audit on lines from the audit writer", () => {
  const dir = tempDir();

  it("--since keeps the lines of the last duration or since a date-time", async () => {
    const file = join(dir, "since.jsonl");
    writeAudit(file, [
      record({ name: "old", time: new Date(Date.now() - 2 * HOUR).toISOString() }),
      record({ name: "new" }),
    ]);
    const names = async (since: string) =>
      (await run(["audit", file, "--json", "--since", since])).stdout
        .trim()
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l).name);
    expect(await names("10m")).toEqual(["new"]);
    expect(await names("3h")).toEqual(["old", "new"]);
    expect(await names("1d")).toEqual(["old", "new"]);
    expect(await names(new Date(Date.now() - HOUR).toISOString())).toEqual(["new"]);
    expect(await names("2999-01-01")).toEqual([]);
  }, 60_000);

  it("refuses a bad --since, --verdict or --tool with exit 2, saying what to write", async () => {
    const file = join(dir, "opts.jsonl");
    writeAudit(file, [record({})]);
    // Every refused form is in audit-filter.test.ts; two of them through the CLI.
    for (const since of ["10x", "yesterday"]) {
      const r = await run(["audit", file, "--since", since]);
      expect(r.code, since).toBe(2);
      expect(r.stdout, since).toBe("");
      expect(r.stderr, since).toContain(
        `--since ${JSON.stringify(since)}: write a duration back from now`,
      );
    }
    const v = await run(["audit", file, "--verdict", "maybe"]);
    expect([v.code, v.stderr]).toEqual([
      2,
      'warden: usage: --verdict "maybe": write --verdict allow or --verdict deny\n',
    ]);
    const t = await run(["audit", file, "--tool", "[abc"]);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('--tool "[abc" is not a name glob');
    const j = await run(["audit", file, "--since", "10x", "--json"]);
    expect(JSON.parse(j.stdout).error.code).toBe("usage");
  }, 60_000);

  it("reports bad lines with their number and skips them; a line too long to be an audit line too", async () => {
    const file = join(dir, "bad.jsonl");
    writeAudit(file, [record({ name: "first" })]);
    appendFileSync(file, 'not json\n[1,2]\n{"time":"yesterday"}\n');
    appendFileSync(file, `${JSON.stringify(record({ name: "x".repeat(1_500_000) }))}\n`);
    writeAudit(file, [record({ name: "last" })]);
    appendFileSync(file, JSON.stringify(record({ name: "unterminated" })));
    const r = await run(["audit", file, "--json"]);
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).name),
    ).toEqual(["first", "last", "unterminated"]);
    expect(r.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(new RegExp(`^warden audit: ${file}:2: skipped: not JSON`)),
      `warden audit: ${file}:3: skipped: not a JSON object`,
      `warden audit: ${file}:4: skipped: "time" is not an ISO 8601 date-time`,
      expect.stringMatching(
        new RegExp(
          `^warden audit: ${file}:5: skipped: a line of 15\\d{5} bytes, over the 1048576 an audit line can have$`,
        ),
      ),
    ]);
  });

  it("shows control characters and bidi overrides from clients escaped, never raw to the terminal", async () => {
    const file = join(dir, "hostile.jsonl");
    writeAudit(file, [
      record({
        name: "evil\u001b]0;pwned\u0007\u001b[2J",
        caller: "m\u009b31m",
        decision: "deny",
        reason: "x\u202egnp.exe\nFAKE LINE",
      }),
    ]);
    const r = await run(["audit", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/[\u001b\u0007\u009b\u202e]/);
    expect(r.stdout).toContain("tools/call evil\\u001b]0;pwned");
    expect(r.stdout).toContain("m\\u009b31m");
    expect(r.stdout).toContain("x\\u202egnp.exe\\u000aFAKE LINE");
    expect(r.stdout.trim().split("\n")).toHaveLength(2);
  });

  it("stops quietly, exit 0, when its reader goes away (warden audit | head)", async () => {
    const file = join(dir, "many.jsonl");
    writeAudit(
      file,
      Array.from({ length: 20_000 }, (_, i) => record({ name: `tool_${i}` })),
    );
    const p = spawn(process.execPath, [CLI, "audit", file], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    p.stderr.on("data", (b: Buffer) => {
      err += b.toString();
    });
    const exited = new Promise<number | null>((r) => p.once("close", (code) => r(code)));
    await new Promise<void>((r) => p.stdout.once("data", () => r()));
    p.stdout.destroy();
    expect(await exited).toBe(0);
    expect(err).toBe("");
  }, 60_000);

  it("reads the default audit file under the XDG state directory, or says where it looked", async () => {
    const xdg = join(dir, "xdg");
    const env = { ...process.env, XDG_STATE_HOME: xdg };
    const none = await run(["audit"], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(
      `warden: audit_unreadable: cannot read the audit file ${join(xdg, "warden", "audit.jsonl")} (ENOENT)`,
    );
    mkdirSync(join(xdg, "warden"), { recursive: true });
    writeAudit(join(xdg, "warden", "audit.jsonl"), [record({ name: "by-default" })]);
    expect((await run(["audit", "--json"], { env })).stdout).toContain('"by-default"');
  });

  it("reads the <state.dir>/audit.jsonl of a warden.yaml with audit: true, and says when a config writes none", async () => {
    const d = tempDir();
    const cfg = writeGatewayFiles(
      d,
      `policy: ./policy.yaml\nstate: { dir: ./state }\naudit: true\nupstreams:\n${stdioUpstream("fx")}`,
    );
    writeAudit(join(d, "state", "audit.jsonl"), [record({ name: "in-state" })]);
    expect((await run(["audit", "-c", cfg, "--json"])).stdout).toContain('"in-state"');
    const off = writeGatewayFiles(d, `policy: ./policy.yaml\nupstreams:\n${stdioUpstream("fx")}`);
    const r = await run(["audit", "-c", off]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('writes no audit: add "audit: true"');
  });
});

describe("warden audit --follow", () => {
  let proc: ChildProcess | undefined;
  afterAll(() => {
    proc?.kill("SIGKILL");
  });

  it("prints lines as they are written, across a rotation (rename, SIGHUP reopen) and a truncation", async () => {
    const dir = tempDir();
    const file = join(dir, "audit.jsonl");
    const log = new AuditLog({ file, arguments: "redacted" });
    const write = (name: string) => {
      log.write(record({ name }));
      log.flush();
    };
    write("one");
    let out = "";
    let err = "";
    proc = spawn(process.execPath, [CLI, "audit", file, "--follow", "--json"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    proc.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
    });
    proc.stderr!.on("data", (b: Buffer) => {
      err += b.toString();
    });
    const exited = new Promise<number | null>((r) => proc!.once("exit", (code) => r(code)));
    const names = () =>
      out
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l).name as string);
    await until(() => names().includes("one"), 20_000, "the first line");
    write("two");
    await until(() => names().includes("two"), 20_000, "a line written after start");

    // logrotate: rename, the writer keeps its descriptor (lines still go to the old file)...
    renameSync(file, `${file}.1`);
    write("three");
    // ...a new file appears (logrotate's create) before the writer moves to it...
    writeFileSync(file, "");
    write("four");
    // ...then SIGHUP: the writer reopens the path.
    log.reopen();
    write("five");
    await until(() => names().includes("five"), 20_000, "a line of the new file");
    await until(() => err.includes("rotated"), 20_000, "the rotation note");

    // copytruncate: the file is cut to nothing in place.
    truncateSync(file, 0);
    await until(() => err.includes("truncated"), 20_000, "the truncation note");
    write("six");
    appendFileSync(file, "garbage\n");
    write("seven");
    await until(() => names().includes("seven"), 20_000, "a line after truncation");
    expect(names()).toEqual(["one", "two", "three", "four", "five", "six", "seven"]);
    expect(err).toContain(`warden audit: ${file}: rotated; following the new file`);
    expect(err).toContain(`warden audit: ${file}: truncated; reading it from the start`);
    expect(err).toContain(`warden audit: ${file}:2: skipped: not JSON`);
    log.close();

    proc.kill("SIGINT");
    expect(await exited).toBe(0);
    proc = undefined;
  }, 120_000);
});
