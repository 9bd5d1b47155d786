// The policy handed to traced processes in a file (src/trace/handoff.ts): a program that
// rewrites the file (and the hash in its children's environment) does not change what its Node
// children are judged by; the file is gone when the run ends; a file that does not hash to what
// the environment says is not read.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/policy/compile.js";
import { actionFor, type Op } from "../../src/trace/actions.js";
import { defaultPolicy } from "../../src/trace/default-policy.js";
import { readHandoff, writeHandoff } from "../../src/trace/handoff.js";
import { presetPolicy } from "../../src/trace/policy/presets.js";
import { policyAsJson } from "../../src/trace/policy-json.js";
import type { ConfigureAnswer } from "../../src/trace/protocol.js";
import { denyPolicy, files, runWarden, tempDir } from "./helpers.js";

const ANSWER: ConfigureAnswer = {
  policy: { text: 'version: "1.0"\n', file: "p.yaml" },
  sections: ["storage"],
  t0: "1",
  batch_ms: 50,
  batch_events: 64,
  review_timeout_ms: 60_000,
};

describe("warden run: the policy handed over in a file", () => {
  it("is read only with the hash warden run gave, and not once changed", () => {
    const h = writeHandoff(ANSWER);
    try {
      expect(readHandoff(h.env)).toEqual(ANSWER);
      const file = h.env.slice(65);
      const evil = JSON.stringify({ ...ANSWER, sections: [] });
      writeFileSync(file, evil);
      expect(readHandoff(h.env)).toMatch(/changed since warden run wrote it/);
      // A hash that matches the changed file is still another file's hash in a traced child:
      // the agent puts warden run's value back (below); here the reader only checks the hash.
      const hash = createHash("sha256").update(evil).digest("hex");
      expect(readHandoff(`${hash}:${file}`)).toMatchObject({ sections: [] });
      expect(readHandoff(undefined)).toMatch(/no handed-over/);
      expect(readHandoff("nohash")).toMatch(/not <sha256>:<path>/);
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

  it("a program that rewrites it to allow everything, and its children's hash, does not free its Node children", async () => {
    const dir = tempDir();
    const secret = join(dir, "secret.txt");
    files(dir, {
      "secret.txt": "s3cret",
      "policy.yaml": denyPolicy([secret]),
      "leaf.js": `try { require("fs").readFileSync(${JSON.stringify(secret)}); console.log("LEAF READ"); } catch (e) { console.log("LEAF", e.code); }`,
      "app.js": `
const fs = require("fs"), cp = require("child_process"), crypto = require("crypto");
const v = process.env.WARDEN_TRACE_CONFIG;
const file = v.slice(65);
const a = JSON.parse(fs.readFileSync(file, "utf8"));
a.policy.text = 'version: "1.0"\\nstorage:\\n  allow:\\n    - { uri: "/**", access: [read, write] }\\n';
const bytes = JSON.stringify(a);
fs.writeFileSync(file, bytes);
const env = { ...process.env, WARDEN_TRACE_CONFIG: crypto.createHash("sha256").update(bytes).digest("hex") + ":" + file };
process.stdout.write(cp.execFileSync(process.execPath, ["leaf.js"], { env, encoding: "utf8" }));
process.stdout.write(cp.execFileSync(process.execPath, ["leaf.js"], { encoding: "utf8" }));
console.log("FILE " + file);
`,
    });
    const r = await runWarden(
      ["run", "--policy", join(dir, "policy.yaml"), "--", process.execPath, "app.js"],
      { cwd: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("LEAF READ");
    expect(r.stdout.match(/LEAF EACCES/g)).toHaveLength(2);
    expect(r.stderr).toMatch(/warden run: \d+ events \(2 block/);
    const file = /FILE (.*)/.exec(r.stdout)![1]!;
    expect(readFileSync(join(dir, "policy.yaml"), "utf8")).toContain("deny");
    expect(existsSync(file)).toBe(false);
  }, 120_000);
});
