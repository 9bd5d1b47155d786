// The strace layer end to end: the real CLI runs real programs under the real strace; what a
// static binary, a raw syscall or a bypassed hook does is flagged "unhooked" in the live lines,
// the summary and the audit; a child that clears its environment is still followed or seen; a
// clean `tsc` build shows nothing unhooked. (docs/trace.md, "The strace layer")
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeStrace } from "../../src/trace/strace/probe.js";
import { auditLines } from "../mcp/audit-schema.js";
import { until } from "../mcp/helpers.js";
import { denyPolicy, files, runWarden, tempDir } from "./helpers.js";
import { EVADER_C, staticProgram } from "./strace-build.js";

const STRACE = probeStrace();
const NODE = process.execPath;

interface Ev {
  function: string;
  target: string;
  verdict: string;
  pid: number;
  rule_id?: string;
  reason?: string;
}
interface Summary {
  exit_code: number;
  processes: { pid: number; ppid: number; argv: string[]; traced: boolean }[];
  not_seen: string[];
  strace: {
    state: string;
    reason?: string;
    stats?: { checked: number; hooked: number; unhooked: number };
    following?: number[];
    unhooked: { function: string; target: string }[];
  };
}

function jsonLines(stdout: string): { events: Ev[]; summary: Summary } {
  const lines = stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    events: lines.slice(0, -1) as unknown as Ev[],
    summary: lines.at(-1)!.summary as Summary,
  };
}

/** A loopback TCP sink that counts connections. */
let sink: Server;
let sinkPort = 0;
beforeAll(async () => {
  sink = createServer((s) => s.destroy());
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
  sinkPort = (sink.address() as { port: number }).port;
});
afterAll(() => sink.close());

/** A sink of this test's own (the tests run side by side): its port and how many it accepted. */
async function ownSink(): Promise<{ port: number; accepted: () => number; close: () => void }> {
  let n = 0;
  const s = createServer((c) => {
    n++;
    c.destroy();
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return {
    port: (s.address() as { port: number }).port,
    accepted: () => n,
    close: () => s.close(),
  };
}

// Each run is independent (own folder, own sink where counted): they run side by side.
describe.skipIf(!STRACE.ok).concurrent("warden run under strace", () => {
  it("flags a static binary's raw read of a denied file, connect and exec as unhooked: live, summary, audit", async () => {
    const own = await ownSink();
    const sinkPort = own.port;
    const evader = staticProgram("evader", EVADER_C);
    const dir = tempDir();
    mkdirSync(join(dir, "secret"));
    const key = join(dir, "secret", "id_rsa");
    files(dir, {
      "secret/id_rsa": "KEY",
      "policy.yaml": denyPolicy([join(dir, "secret"), join(dir, "secret/**")]),
      "app.js": `const r = require("child_process").spawnSync(${JSON.stringify(evader)}, ["read", ${JSON.stringify(key)}, "connect", "${sinkPort}", "exec", "exit 3"]);
console.log("evader exit", r.status);`,
    });
    const audit = join(dir, "audit.jsonl");
    const r = await runWarden(
      ["run", "--audit", audit, "--policy", join(dir, "policy.yaml"), "--", NODE, "app.js"],
      { cwd: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("evader exit 3");
    // strace sees, it does not block: the connect reached the sink (its accept may come after
    // the run's end on a loaded machine: the connection waited in the backlog).
    await until(() => own.accepted() > 0, 10_000, "the evader's connection");
    expect(own.accepted()).toBe(1);
    own.close();
    // Live lines.
    expect(r.stderr).toMatch(
      new RegExp(
        `warn +unhooked:openat ${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} O_RDONLY +storage\\.deny\\[1\\]`,
      ),
    );
    expect(r.stderr).toMatch(
      new RegExp(`warn +unhooked:connect 127\\.0\\.0\\.1 port ${sinkPort} `),
    );
    expect(r.stderr).toMatch(
      /display +unhooked:execve \/bin\/sh -c exit 3 +unhooked: strace saw execve/,
    );
    // The summary.
    expect(r.stderr).toMatch(
      /strace [\d.]+( \(seccomp-bpf\))?: \d+ syscall\(s\) checked, \d+ reported by agents, 3 UNHOOKED/,
    );
    // The audit: each one a decision line (it happened: allow), its verdict, the rule it broke.
    const lines = auditLines(audit).filter((l) => String(l.method).startsWith("unhooked:"));
    expect(lines.map((l) => l.method).sort()).toEqual([
      "unhooked:connect",
      "unhooked:execve",
      "unhooked:openat",
    ]);
    expect(lines.find((l) => l.method === "unhooked:openat")).toMatchObject({
      name: key,
      decision: "allow",
      verdict: "warn",
      rule_id: "storage.deny[1]",
    });
    expect(String(lines[0]!.reason)).toMatch(/^unhooked: strace saw/);
  }, 120_000);

  it("refuses a Node program's raw bindings, and sees what a child without an agent does, hostile file names read exactly", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "secret"));
    // Quotes, a newline, strace's own markers and a terminal escape in one file name.
    const hostile = join(dir, "secret", 'a"b\n) = 0 <unfinished ...>\u001b[31m.txt');
    writeFileSync(hostile, "TOKEN");
    // What the child started through `env -i` (no agent: its environment is gone) does.
    const leaf = `const fs = require("fs");
console.log("raw read", fs.readFileSync(${JSON.stringify(hostile)}, "utf8"));
const s = require("net").connect(${sinkPort}, "127.0.0.1", () => { console.log("raw connect 0"); s.destroy(); });`;
    files(dir, {
      "policy.yaml": denyPolicy([join(dir, "secret/**")]),
      "raw.js": `
// Node's native file functions behind the public modules go around the hooks: refused where
// the policy judges files (test/trace/hostile-bindings.test.ts has the rest).
try { process.binding("fs"); console.log("raw binding given"); } catch (e) { console.log("raw refused", e.code); }
const r = require("child_process").spawnSync("env", ["-i", ${JSON.stringify(NODE)}, "-e", ${JSON.stringify(leaf)}], { encoding: "utf8" });
process.stdout.write(r.stdout);
`,
    });
    const r = await runWarden(
      ["run", "--json", "--policy", join(dir, "policy.yaml"), "--", NODE, "raw.js"],
      { cwd: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("raw refused ERR_INVALID_MODULE");
    // Not blocked (no agent in that child; strace does not block): seen.
    expect(r.stderr).toContain("raw read TOKEN");
    expect(r.stderr).toContain("raw connect 0");
    const { events, summary } = jsonLines(r.stdout);
    const unhooked = events.filter((e) => e.function.startsWith("unhooked:"));
    expect(unhooked.map((e) => e.function).sort()).toEqual([
      "unhooked:connect",
      "unhooked:execve",
      "unhooked:openat",
    ]);
    const read = unhooked.find((e) => e.function === "unhooked:openat")!;
    expect(read.target).toBe(hostile);
    // The policy refuses such a name outright (a control character): so would the agent have.
    expect(read.verdict).toBe("warn");
    expect(read.reason).toMatch(
      /^unhooked: strace saw openat, no agent reported it; the policy would have blocked it \(.*control character/,
    );
    // env's exec of node, which no agent reported.
    expect(unhooked.find((e) => e.function === "unhooked:execve")!.target).toBe(NODE);
    expect(summary.strace.state).toBe("on");
    expect(summary.strace.stats?.unhooked).toBe(3);
    // The process tree has the child the hooks never saw (env, which became node in place),
    // under the program, not traced.
    const root = summary.processes.find((p) => p.argv.includes("raw.js"))!;
    expect(summary.processes).toContainEqual({
      pid: expect.any(Number),
      ppid: root.pid,
      argv: ["env", "-i", NODE, "-e", leaf],
      traced: false,
    });
    // The agent's own reports were matched: the program's exec is not flagged.
    expect(unhooked.filter((e) => e.target === NODE)).toHaveLength(1);
  }, 120_000);

  it("a child that clears its environment: node's env {} is still traced, env -i is seen by strace", async () => {
    const dir = tempDir();
    const secret = join(dir, "secret.txt");
    files(dir, {
      "secret.txt": "S",
      "policy.yaml": denyPolicy([secret]),
      "leaf.js": `try { require("fs").readFileSync(${JSON.stringify(secret)}); console.log("LEAF READ"); } catch (e) { console.log("LEAF", e.code); }`,
      "app.js": `const { spawnSync } = require("child_process");
process.stdout.write("EMPTY " + spawnSync(${JSON.stringify(NODE)}, ["leaf.js"], { env: {}, encoding: "utf8" }).stdout);
process.stdout.write("ENV-I " + spawnSync("env", ["-i", ${JSON.stringify(NODE)}, "leaf.js"], { encoding: "utf8" }).stdout);`,
    });
    const r = await runWarden(
      ["run", "--json", "--policy", join(dir, "policy.yaml"), "--", NODE, "app.js"],
      { cwd: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    // env: {}: the agent put the trace back; the leaf's read was blocked in the leaf.
    expect(r.stderr).toContain("EMPTY LEAF EACCES");
    // env -i: the leaf ran without an agent (the read happened) but strace saw it.
    expect(r.stderr).toContain("ENV-I LEAF READ");
    const { events } = jsonLines(r.stdout);
    const unhooked = events.filter((e) => e.function.startsWith("unhooked:"));
    expect(unhooked.find((e) => e.function === "unhooked:openat")).toMatchObject({
      target: secret,
      verdict: "warn",
      rule_id: "storage.deny[0]",
    });
    // env's exec of node (the program env -i started, that no agent reported).
    expect(unhooked.some((e) => e.function === "unhooked:execve" && e.target === NODE)).toBe(true);
    // Exactly those two: the env {} child was traced, nothing of it is unhooked.
    expect(unhooked).toHaveLength(2);
  }, 120_000);

  it("Warden's own reads (the hand-over, the agents' code) are neither judged nor unhooked under a policy that denies where they live", async () => {
    // warden run's temporary folder, denied to the program (read and write).
    const tmp = tempDir("warden-tmp-");
    const dir = tempDir();
    files(dir, {
      "policy.yaml": denyPolicy([`${tmp}/**`, `${resolve("dist")}/**`]),
      "leaf.js": 'console.log("LEAF");',
      "app.js": `const { execFileSync } = require("child_process");
process.stdout.write(execFileSync(${JSON.stringify(NODE)}, ["leaf.js"], { encoding: "utf8" }));`,
    });
    const r = await runWarden(
      ["run", "--json", "--policy", join(dir, "policy.yaml"), "--", NODE, "app.js"],
      { cwd: dir, env: { ...process.env, TMPDIR: tmp } },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("LEAF");
    const { events, summary } = jsonLines(r.stdout);
    expect(summary.strace.state).toBe("on");
    const ours = (t: string) => t.startsWith(tmp) || t.startsWith(resolve("dist"));
    expect(events.filter((e) => ours(e.target))).toEqual([]);
    expect(summary.strace.unhooked).toEqual([]);
  }, 120_000);

  it("a clean tsc build shows no unhooked syscall and no block", async () => {
    const dir = tempDir();
    files(dir, {
      "a.ts": "export const a: number = 1;\n",
      "b.ts": 'import { a } from "./a.js";\nexport const b = a + 1;\n',
      "tsconfig.json": JSON.stringify({
        compilerOptions: { module: "nodenext", target: "es2022", outDir: "out", strict: true },
        include: ["*.ts"],
      }),
    });
    const tsc = resolve("node_modules/typescript/bin/tsc");
    const r = await runWarden(["run", "--json", "--", NODE, tsc, "-p", dir], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const { events, summary } = jsonLines(r.stdout);
    expect(events.filter((e) => e.verdict === "block")).toEqual([]);
    expect(summary.strace.state).toBe("on");
    expect(summary.strace.unhooked).toEqual([]);
    expect(summary.strace.stats?.unhooked).toBe(0);
  }, 120_000);
});

describe
  .skipIf(!STRACE.ok)
  .concurrent("warden run under strace: processes that outlive the run", () => {
    it("a descendant still running after --linger keeps working, strace stays quiet, the summary says strace goes on following it", async () => {
      const dir = tempDir();
      const out = join(dir, "out.txt");
      files(dir, {
        "data.txt": "DATA",
        // A detached shell that outlives the run: it waits for warden run (this program's parent:
        // strace -D traces it as warden's child) to end, however long that takes on a loaded
        // machine (at most 60 s), then opens and execs (syscalls strace traces).
        "app.js": `require("child_process").spawn("sh", ["-c", "i=0; while kill -0 $WARDEN_PID 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; cat data.txt > out.txt; echo status $? >> out.txt"], { detached: true, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, WARDEN_PID: String(process.ppid) } }).unref();`,
      });
      // runWarden returns when stderr closes: strace (and the shell) hold it until they end.
      const r = await runWarden(["run", "--json", "--linger", "0", "--", NODE, "app.js"], {
        cwd: dir,
      });
      expect(r.code, r.stderr).toBe(0);
      const { summary } = jsonLines(r.stdout);
      const following = summary.strace.following;
      expect(following?.length, r.stderr).toBeGreaterThan(0);
      // The shell's open and exec worked (no ENOSYS), and strace wrote no error per syscall
      // into the terminal after warden run stopped reading (it did: "Broken pipe").
      expect(readFileSync(out, "utf8")).toBe("DATAstatus 0\n");
      expect(r.stderr).not.toMatch(/Broken pipe|Function not implemented/);
    }, 120_000);
  });

describe.concurrent("warden run without strace", () => {
  it("--no-strace says in the summary what is not seen", async () => {
    const dir = tempDir();
    files(dir, { "app.js": "" });
    const text = await runWarden(["run", "--no-strace", "--", NODE, "app.js"], { cwd: dir });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toContain(
      "strace: off (--no-strace); static binaries, raw system calls and native addons' own system calls are not seen",
    );
    const notSeen = text.stderr.split("\n").find((l) => l.startsWith("not seen: "))!;
    expect(notSeen).toMatch(/statically linked programs/);
    expect(notSeen).toMatch(/native addons/);
    expect(notSeen).toMatch(/raw system calls/);
    // The Python agent's blind spots too (they were missing).
    expect(notSeen).toMatch(/Python: system calls made by C extensions themselves/);
    expect(notSeen).toMatch(/called through ctypes/);
    expect(notSeen).toMatch(/python -I, -E or -S/);
  }, 120_000);

  it("--strace refuses to start the program (126) when strace cannot run", async () => {
    const dir = tempDir();
    files(dir, { "app.js": "console.log('RAN')" });
    const r = await runWarden(["run", "--strace", "--", NODE, "app.js"], {
      cwd: dir,
      env: { ...process.env, PATH: "/nonexistent" },
    });
    expect(r.code).toBe(126);
    expect(r.stdout).not.toContain("RAN");
    expect(r.stderr).toMatch(/--strace: strace is not installed \(not in PATH\); install strace/);
  }, 120_000);
});
