// The policy handed to traced processes without a round trip (src/trace/handoff.ts): nothing is
// left on disk, not even after SIGKILL; a program that hands its Node children a permissive
// policy of its own (its own value and file, through the environment, a shell or an untraced
// Node process) does not free them; a value that does not hash to what it says is not read.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/policy/compile.js";
import { actionFor, type Op } from "../../src/trace/actions.js";
import { defaultPolicy } from "../../src/trace/default-policy.js";
import { readHandoff, writeHandoff } from "../../src/trace/handoff.js";
import { presetPolicy } from "../../src/trace/policy/presets.js";
import { policyAsJson } from "../../src/trace/policy-json.js";
import type { ConfigureAnswer } from "../../src/trace/protocol.js";
import { CLI, denyPolicy, files, runWarden, tempDir } from "./helpers.js";

const ANSWER: ConfigureAnswer = {
  policy: { text: 'version: "1.0"\n', file: "p.yaml" },
  sections: ["storage"],
  t0: "1",
  batch_ms: 50,
  batch_events: 64,
  review_timeout_ms: 60_000,
};

describe("warden run: the policy handed over without a round trip", () => {
  it("leaves no file on disk, is read only through warden run's descriptor with its hash, and only from who may give it", () => {
    const h = writeHandoff(ANSWER);
    if (h === undefined) throw new Error("no hand-over on this platform");
    try {
      // Only the descriptor is left: nothing in the temp folder to leave behind on SIGKILL.
      expect(existsSync(h.path)).toBe(false);
      expect(existsSync(dirname(h.path))).toBe(false);
      expect(h.env).toMatch(new RegExp(`^[0-9a-f]{64}:${process.pid}:\\d+$`));
      // As the program warden run started (its parent: this process).
      expect(readHandoff(h.env, process.env, process.pid)).toEqual(ANSWER);
      // Another hash for the same descriptor: not used.
      const evil = `${"0".repeat(64)}${h.env.slice(64)}`;
      expect(readHandoff(evil, process.env, process.pid)).toMatch(
        /not what warden run handed over/,
      );
      // A process started by something else (here: the shell-less test runner's parent, not
      // the same Node executable or not the giver with the same environment) asks instead.
      expect(readHandoff(h.env, process.env, process.ppid)).toEqual(expect.any(String));
      expect(readHandoff(undefined)).toMatch(/no handed-over/);
      expect(readHandoff("nohash")).toMatch(/not <sha256>:<pid>:<fd>/);
    } finally {
      h.remove();
    }
  });

  it("hands the policy over as JSON on the YAML's lines: every rule named by the same file:line", () => {
    const ops: Op[] = [
      { kind: "read", target: "/home/u/.ssh/id_rsa" },
      { kind: "write", target: "/home/u/.bashrc" },
      { kind: "read", target: "/tmp/x" },
      { kind: "exec", target: "/bin/sh", argv: ["sh", "-c", "curl x | sh"] },
      { kind: "exec", target: "/usr/bin/curl", argv: ["curl", "x"] },
      { kind: "connect", target: "10.0.0.1", port: 443 },
      { kind: "env", target: "AWS_SECRET_ACCESS_KEY" },
      { kind: "env", target: "GITHUB_ACTIONS" },
    ];
    const policies = [
      defaultPolicy(),
      ...["npm-install", "pypi-install", "air-gap"].map((n) => presetPolicy(n)!),
    ];
    for (const p of policies) {
      const json = policyAsJson(p.text, p.file);
      expect(json, p.file).toBeDefined();
      const a = compilePolicy(p.text, { file: p.file });
      const b = compilePolicy(json!, { file: p.file });
      if (!a.ok || !b.ok) throw new Error(`${p.file} does not compile`);
      for (const op of ops) {
        const action = actionFor(op);
        if (action === null) continue;
        const da = a.policy.check(action);
        const db = b.policy.check(action);
        expect([db.allowed, db.rule, db.ruleId], `${p.file} ${op.kind} ${op.target}`).toEqual([
          da.allowed,
          da.rule,
          da.ruleId,
        ]);
      }
    }
    // A value JSON cannot hold (.inf): the YAML goes as it is.
    expect(policyAsJson('version: "1.0"\nstorage:\n  x: .inf\n', "p.yaml")).toBeUndefined();
  });

  it("a program that hands its Node children a policy of its own making does not free them", async () => {
    const dir = tempDir();
    const secret = join(dir, "secret.txt");
    const allowAll =
      'version: "1.0"\\nstorage:\\n  allow:\\n    - { uri: "/**", access: [read, write] }\\n';
    files(dir, {
      "secret.txt": "s3cret",
      "policy.yaml": denyPolicy([secret]),
      "leaf.js": `try { require("fs").readFileSync(${JSON.stringify(secret)}); console.log("LEAF READ"); } catch (e) { console.log("LEAF", e.code); }`,
      // A permissive answer of its own, held open as warden run holds the real one: its value.
      "forge.js": `
const fs = require("fs"), crypto = require("crypto"), path = require("path");
module.exports = () => {
  const a = { policy: { text: '${allowAll}', file: "evil.yaml" }, sections: ["storage"], t0: "1", batch_ms: 50, batch_events: 64, review_timeout_ms: 1000 };
  const bytes = JSON.stringify(a);
  const file = path.join(__dirname, "evil.json");
  fs.writeFileSync(file, bytes);
  const fd = fs.openSync(file, "r");
  return crypto.createHash("sha256").update(bytes).digest("hex") + ":" + process.pid + ":" + fd;
};`,
      // An untraced Node process (no NODE_OPTIONS, no token: as warden run looks) giving it.
      "giver.js": `
const cp = require("child_process");
const value = require("./forge.js")();
const env = { ...process.env, WARDEN_TRACE_TOKEN: process.env.STOLEN, NODE_OPTIONS: process.env.STOLEN_OPTIONS, WARDEN_TRACE_CONFIG: value };
process.stdout.write(cp.execFileSync(process.execPath, ["leaf.js"], { env, encoding: "utf8" }));`,
      "app.js": `
const cp = require("child_process");
const value = require("./forge.js")();
const node = JSON.stringify(process.execPath);
const run = (f, a, o) => process.stdout.write(cp.execFileSync(f, a, { encoding: "utf8", ...o }));
// 1. Straight from a traced process: the agent puts the run's value back.
run(process.execPath, ["leaf.js"], { env: { ...process.env, WARDEN_TRACE_CONFIG: value } });
// 2. Through a shell that sets it (a child of the shell; the shell replaced by Node).
run("sh", ["-c", "WARDEN_TRACE_CONFIG='" + value + "' " + node + " leaf.js"]);
run("sh", ["-c", "WARDEN_TRACE_CONFIG='" + value + "' exec " + node + " leaf.js"]);
// 3. Through an untraced Node process that names itself as the giver.
run("sh", ["-c", "STOLEN=$WARDEN_TRACE_TOKEN STOLEN_OPTIONS=$NODE_OPTIONS env -u WARDEN_TRACE_TOKEN -u NODE_OPTIONS " + node + " giver.js || echo GIVER $?"]);
`,
    });
    const r = await runWarden(
      ["run", "--json", "--policy", join(dir, "policy.yaml"), "--", process.execPath, "app.js"],
      { cwd: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    // (--json: the program's own output goes to stderr.)
    const leaves = r.stderr.split("\n").filter((l) => l.startsWith("LEAF"));
    // The first three leaves are judged by the run's policy.
    expect(leaves.slice(0, 3)).toEqual(["LEAF EACCES", "LEAF EACCES", "LEAF EACCES"]);
    // The fourth took the forged answer: warden run kills it and reports it blocked.
    const events = r.stdout
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { function?: string; verdict?: string; target?: string });
    expect(events).toContainEqual(
      expect.objectContaining({
        function: "warden:handoff",
        verdict: "block",
        target: "WARDEN_TRACE_CONFIG",
      }),
    );
    expect(readFileSync(join(dir, "policy.yaml"), "utf8")).toContain("deny");
  }, 120_000);

  it("leaves no hand-over file behind when warden run is killed with SIGKILL", async () => {
    const tmp = tempDir("warden-tmp-");
    const dir = tempDir();
    const marker = join(dir, "running");
    files(dir, {
      "app.js": `require("fs").writeFileSync(${JSON.stringify(marker)}, String(process.pid)); setInterval(() => {}, 1000);`,
    });
    const cli = spawn(process.execPath, [CLI, "run", "--", process.execPath, "app.js"], {
      cwd: dir,
      env: { ...process.env, TMPDIR: tmp },
      stdio: "ignore",
    });
    let pid = 0;
    try {
      while (!existsSync(marker)) await new Promise((r) => setTimeout(r, 50));
      pid = Number(readFileSync(marker, "utf8"));
      // While the run goes on: nothing in its temp folder.
      expect(readdirSync(tmp)).toEqual([]);
      cli.kill("SIGKILL");
      await new Promise((r) => cli.once("exit", r));
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      cli.kill("SIGKILL");
      if (pid > 0) process.kill(pid, "SIGKILL");
    }
  }, 120_000);
});
