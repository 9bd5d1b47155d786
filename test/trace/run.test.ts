// `warden run` end to end with the real CLI, real node processes and the real agent: a blocked
// file read fails with EACCES naming Warden and the rule, the program's own exit code comes
// back, children are followed (node -> sh -> node, and a child whose env was cleared), the
// JSON and audit outputs are what docs/trace.md says.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { auditLines } from "../mcp/audit-schema.js";
import { denyPolicy, files, runApp, runWarden, tempDir } from "./helpers.js";

describe("warden run", () => {
  it("blocks a denied read before it happens, with the runtime's error naming Warden and the rule", async () => {
    const dir = tempDir();
    files(dir, {
      "secret.txt": "s3cret",
      "policy.yaml": denyPolicy([join(dir, "secret.txt")]),
      "app.js": `
const fs = require("fs");
try { fs.readFileSync(${JSON.stringify(join(dir, "secret.txt"))}, "utf8"); console.log("READ"); }
catch (e) { console.log("ERR", e.code, e.message); }
fs.promises.readFile(${JSON.stringify(join(dir, "secret.txt"))}).then(() => console.log("READ2"), (e) => { console.log("ERR2", e.code); process.exitCode = 7; });
`,
      "esm.mjs": `import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
try { readFileSync(${JSON.stringify(join(dir, "secret.txt"))}); console.log("ESM READ"); } catch (e) { console.log("ESM", e.code); }
try { await readFile(${JSON.stringify(join(dir, "secret.txt"))}); console.log("ESM READ2"); } catch (e) { console.log("ESM2", e.code); }
`,
    });
    const r = await runApp(dir, { json: false });
    expect(r.stdout).not.toContain("READ");
    expect(r.stdout).toContain("ERR EACCES EACCES: permission denied, readFile");
    expect(r.stdout).toMatch(/blocked by Warden \(storage\.deny\[0\] at .*policy\.yaml:4\)/);
    expect(r.stdout).toContain("ERR2 EACCES");
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/block\s+js:fs\.readFileSync .*secret\.txt\s+storage\.deny\[0\]/);
    expect(r.stderr).toMatch(/warden run: \d+ events \(2 block/);
    // An ES module's named imports of node:fs and node:fs/promises are hooked too.
    const esm = await runWarden(
      ["run", "--policy", join(dir, "policy.yaml"), "--", process.execPath, "esm.mjs"],
      {
        cwd: dir,
      },
    );
    expect(esm.stdout).toContain("ESM EACCES");
    expect(esm.stdout).toContain("ESM2 EACCES");
    expect(esm.stdout).not.toContain("READ");
  }, 120_000);

  it("follows node -> sh -> node and a child whose environment was cleared", async () => {
    const dir = tempDir();
    const secret = join(dir, "secret.txt");
    files(dir, {
      "secret.txt": "s3cret",
      "policy.yaml": denyPolicy([secret]),
      "leaf.js": `try { require("fs").readFileSync(${JSON.stringify(secret)}); console.log("LEAF READ"); } catch (e) { console.log("LEAF", e.code); }`,
      "app.js": `
const { execSync, spawnSync } = require("child_process");
process.stdout.write(execSync(${JSON.stringify(`"${process.execPath}" leaf.js`)}, { encoding: "utf8" }));
const r = spawnSync(${JSON.stringify(process.execPath)}, ["leaf.js"], { env: {}, encoding: "utf8" });
process.stdout.write("CLEARED " + r.stdout);
`,
    });
    const r = await runApp(dir);
    expect(r.code, r.stderr).toBe(0);
    // The program's stdout went to stderr: stdout is JSON lines only.
    expect(r.stderr).toContain("LEAF EACCES");
    expect(r.stderr).toContain("CLEARED LEAF EACCES");
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = lines.at(-1)!.summary as {
      processes: { pid: number; ppid: number; argv: string[]; traced: boolean }[];
      verdicts: Record<string, number>;
      lost: number;
    };
    const blocks = lines.filter((l) => l.verdict === "block");
    expect(blocks).toHaveLength(2);
    const root = summary.processes.find((p) => p.argv.includes("app.js") && p.traced)!;
    const leaves = summary.processes.filter(
      (p) => p.traced && p.argv.some((a) => a.endsWith("leaf.js")),
    );
    expect(leaves).toHaveLength(2);
    // Both leaves' blocks came from the leaves themselves, not the root.
    expect(new Set(blocks.map((b) => b.pid))).toEqual(new Set(leaves.map((l) => l.pid)));
    // The shell between app.js and the first leaf (reported by the root's agent).
    const sh = summary.processes.find((p) => p.argv[0] === "/bin/sh")!;
    expect(sh.ppid).toBe(root.pid);
    expect(summary.lost).toBe(0);
    expect(summary.verdicts.block).toBe(2);
  }, 120_000);

  it("writes every event as an audit line of the gateway's shape", async () => {
    const dir = tempDir();
    const secret = join(dir, "secret.txt");
    files(dir, {
      "secret.txt": "x",
      "policy.yaml": denyPolicy([secret]),
      "app.js": `const fs = require("fs"); for (let i = 0; i < 200; i++) fs.statSync(".");
try { fs.writeFileSync(${JSON.stringify(secret)}, "y"); } catch {}`,
    });
    const audit = join(dir, "audit.jsonl");
    const r = await runApp(dir, { audit });
    expect(r.code, r.stderr).toBe(0);
    const lines = auditLines(audit);
    const events = r.stdout.trim().split("\n").slice(0, -1);
    expect(lines).toHaveLength(events.length);
    expect(lines.filter((l) => l.method === "js:fs.statSync")).toHaveLength(200);
    const denied = lines.filter((l) => l.decision === "deny");
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({
      verdict: "block",
      method: "js:fs.writeFileSync",
      name: secret,
      rule_id: "storage.deny[0]",
    });
    expect(readFileSync(secret, "utf8")).toBe("x");
  }, 120_000);

  it("exit codes: the program's own; 1 with --fail-on when it exited 0; 126 refused; 127 not found", async () => {
    const dir = tempDir();
    files(dir, {
      "policy.yaml": denyPolicy([join(dir, "nope")]),
      "bad.yaml": 'version: "1.0"\nstorage:\n  alow: []\n',
      "app.js": `try { require("fs").readFileSync(${JSON.stringify(join(dir, "nope"))}); } catch {}`,
    });
    const policy = join(dir, "policy.yaml");
    const [exit3, ok, failOn, bad, missing] = await Promise.all([
      runWarden(["run", "--policy", policy, "--", process.execPath, "-e", "process.exit(3)"], {
        cwd: dir,
      }),
      runWarden(["run", "--policy", policy, "--", process.execPath, "app.js"], { cwd: dir }),
      runWarden(
        ["run", "--fail-on", "block", "--policy", policy, "--", process.execPath, "app.js"],
        { cwd: dir },
      ),
      runWarden(["run", "--policy", join(dir, "bad.yaml"), "--", process.execPath, "app.js"], {
        cwd: dir,
      }),
      runWarden(["run", "--policy", policy, "--", "no-such-command-xyz"], { cwd: dir }),
    ]);
    expect(exit3.code).toBe(3);
    expect(ok.code).toBe(0);
    expect(failOn.code).toBe(1);
    expect(bad.code).toBe(126);
    expect(bad.stderr).toMatch(/bad\.yaml:3:3 policy_unknown_key/);
    expect(bad.stderr).toContain("warden: trace_refused:");
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("trace_command_not_found");
  }, 120_000);
});

describe("warden run: review", () => {
  it("holds a call the policy sends to review; without a terminal review means deny, and the summary says so", async () => {
    const dir = tempDir();
    files(dir, {
      "policy.yaml": 'version: "1.0"\ncommands:\n  default: allow\n  review: [sh]\n',
      "app.js": `require("child_process").execFile("sh", ["-c", "echo hi"], (e, out) => console.log("RESULT", e ? e.code : out.trim()));`,
    });
    const r = await runApp(dir, { json: false });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("RESULT ENOENT");
    expect(r.stderr).toMatch(
      /review\s+js:child_process\.spawn \/\S*sh -c echo hi\s+commands\.review\[0\].*\[review: no_tty\]/,
    );
    expect(r.stderr).toContain("no terminal: 1 review(s) were denied");
  }, 120_000);
});
