// `warden policy test` through the real CLI (run `npm run build` first): the shipped example
// cases pass against the shipped policies, failures are printed with their explanation (exit 1),
// and a bad case file is located file:line:col (exit 2).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "./run-async.js";

const dir = mkdtempSync(join(tmpdir(), "warden-policy-test-"));
const gw = resolve("examples/policies/mcp-gateway.yaml");
/** The line of the example policy that holds `text` (so edits above a rule keep the tests true). */
const lineOf = (text: string) =>
  readFileSync(gw, "utf8")
    .split("\n")
    .findIndex((l) => l.includes(text)) + 1;
function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe("warden policy test", () => {
  it("runs the shipped example cases green, every rule of every example policy reached", async () => {
    const r = await run(["policy", "test", "examples/policies/tests/", "--coverage"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.at(-1)).toMatch(/^PASS: (\d+) passed, 0 failed \(\1 cases in 4 files\)$/);
    for (const p of ["development", "mcp-gateway", "production"])
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(`^coverage examples/policies/${p}\\.yaml: (\\d+) of \\1 rules reached$`),
        ),
      );
    expect(r.stdout).not.toContain("no case reached");
  });

  it("prints each failure with what decided, the reason and the canonical input, and exits 1", async () => {
    const f = write(
      "fail.yaml",
      `policy: ${JSON.stringify(gw)}
cases:
  - name: calculator is allowed
    action: { kind: tool.call, name: calculator/add }
    expect: allow
  - name: git_push slips through
    action: { kind: tool.call, name: git_push, arguments: { repo: "a/b" } }
    expect: allow
  - name: the wrong rule decides
    action: { kind: tool.call, name: calculator/mul }
    expect: allow
    rule: mcp.tools.allow[2]
`,
    );
    const r = await run(["policy", "test", f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `FAIL ${f}:6:5 git_push slips through\n  expected allow, got deny\n`,
    );
    expect(r.stdout).toContain(
      `  got:      deny by mcp.tools.deny[1] (${gw}:${lineOf('- name: "git_push"')}), code deny_rule\n`,
    );
    expect(r.stdout).toContain(
      `  reason:   denied by mcp.tools.deny[1] (${gw}:${lineOf('- name: "git_push"')})\n`,
    );
    expect(r.stdout).toContain(
      '  input:    {"kind":"tool.call","name":"git_push","arguments":{"repo":"a/b"}}\n',
    );
    expect(r.stdout).toContain(
      `FAIL ${f}:9:5 the wrong rule decides\n  expected rule mcp.tools.allow[2], got mcp.tools.allow[0]\n`,
    );
    expect(r.stdout).not.toContain("calculator is allowed");
    expect(r.stdout.trim().split("\n").at(-1)).toBe("FAIL: 1 passed, 2 failed (3 cases in 1 file)");
    const v = await run(["policy", "test", f, "--verbose"]);
    expect(v.stdout).toContain(`PASS ${f}:3:5 calculator is allowed\n`);
  });

  it("--json prints every case and the counts; --coverage adds the rules no case reached", async () => {
    const f = write(
      "json.yaml",
      `policy: ${JSON.stringify(gw)}
cases:
  - name: denied by default
    action: { kind: tool.call, name: rm_rf }
    expect: deny
    rule: null
    code: no_rule
`,
    );
    const r = await run(["policy", "test", f, "--json", "--coverage"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: true, passed: 1, failed: 0, files: 1 });
    expect(out.cases[0]).toMatchObject({
      file: f,
      line: 3,
      col: 5,
      name: "denied by default",
      passed: true,
      expected: { decision: "deny", rule: null, code: "no_rule" },
      got: {
        decision: "deny",
        code: "no_rule",
        ruleId: null,
        rule: null,
        input: { kind: "tool.call", name: "rm_rf" },
      },
    });
    expect(out.coverage[0].policy).toBe(gw);
    expect(out.coverage[0].reached).toBe(0);
    expect(out.coverage[0].unreached[0]).toEqual({
      id: "mcp.tools.allow[0]",
      where: `${gw}:${lineOf('- name: "calculator/*"')}`,
      effect: "allow",
    });
  });

  it("--policy judges the cases against another policy, over their policy: key", async () => {
    const f = write(
      "other.yaml",
      `policy: ${JSON.stringify(gw)}
cases:
  - name: every tool in development
    action: { kind: tool.call, name: system_reboot }
    expect: allow
    rule: mcp.tools.allow[0]
`,
    );
    expect((await run(["policy", "test", f])).code).toBe(1);
    const r = await run(["policy", "test", f, "--policy", "examples/policies/development.yaml"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("PASS: 1 passed, 0 failed (1 case in 1 file)");
  });

  it("counts rate limits across a file's cases, in order", async () => {
    write(
      "limited.yaml",
      "mcp:\n  tools:\n    allow:\n      - name: search\n        max_calls_per_minute: 2\n",
    );
    const call = "action: { kind: tool.call, name: search, caller: ada }";
    const f = write(
      "rate.yaml",
      `policy: limited.yaml\ncases:\n${["allow", "allow", "deny"].map((e, i) => `  - name: call ${i + 1}\n    ${call}\n    expect: ${e}\n`).join("")}    code: rate_limited\n`,
    );
    const r = await run(["policy", "test", f]);
    expect(r.stdout.trim()).toBe("PASS: 3 passed, 0 failed (3 cases in 1 file)");
    expect(r.code).toBe(0);
  });

  it("locates every problem of a bad case file and exits 2, running nothing", async () => {
    const schema = write(
      "schema.yaml",
      `policy: ${JSON.stringify(gw)}
cases:
  - name: x
    action: { kind: tool.call, name: a }
    expect: alow
    rul: x
  - action: { name: a }
    expect: deny
`,
    );
    const semantic = write(
      "semantic.json",
      `{
  "policy": ${JSON.stringify(gw)},
  "cases": [
    { "name": "unknown kind", "action": { "kind": "tool.cal", "name": "a" }, "expect": "deny" },
    { "name": "typo", "action": { "kind": "tool.call", "name": "a" }, "expect": "deny", "rule": "mcp.tool.deny[0]" }
  ]
}
`,
    );
    const semLines = readFileSync(semantic, "utf8").split("\n");
    const kindCol = semLines[3]!.indexOf('{ "kind": "tool.cal"') + 1;
    const ruleCol = semLines[4]!.indexOf('"mcp.tool.deny[0]"') + 1;
    const syntax = write("syntax.yaml", "cases:\n  - name: [\n");
    const nopolicy = write(
      "nopolicy.yaml",
      "cases:\n  - { name: a, action: { kind: tool.call, name: a }, expect: deny }\n",
    );
    const missing = write(
      "missing.yaml",
      "policy: ./gone.yaml\ncases:\n  - { name: a, action: { kind: tool.call, name: a }, expect: deny }\n",
    );
    const r = await run([
      "policy",
      "test",
      schema,
      semantic,
      syntax,
      nopolicy,
      missing,
      join(dir, "nothere"),
    ]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines).toEqual([
      `${join(dir, "nothere")}:1:1 policy_test_file cannot read it (ENOENT): name a case file or a directory of them`,
      `${schema}:6:5 policy_test_case unknown key "rul" in cases[0] (did you mean "rule"?); known keys: name, action, expect, rule, code`,
      `${schema}:5:13 policy_test_case Write "expect: allow" or "expect: deny", not "alow" (did you mean "allow"?)`,
      expect.stringMatching(
        new RegExp(`^${schema}:7:5 policy_test_case cases\\[1\\] needs the key "name"`),
      ),
      expect.stringMatching(
        new RegExp(`^${schema}:7:13 policy_test_case cases\\[1\\]\\.action needs the key "kind"`),
      ),
      expect.stringMatching(
        new RegExp(
          `^${semantic}:4:${kindCol} policy_test_action case "unknown kind": the action is malformed \\(unknown action kind "tool.cal"`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^${semantic}:5:${ruleCol} policy_test_case rule "mcp.tool.deny\\[0\\]" is not a rule of .* \\(did you mean "mcp.tools.deny\\[0\\]"\\?\\)`,
        ),
      ),
      expect.stringMatching(
        new RegExp(`^${syntax}:3:1 policy_test_syntax not valid YAML or JSON: `),
      ),
      expect.stringMatching(
        new RegExp(
          `^${nopolicy}:1:1 policy_test_case the file names no policy: add \`policy: <file>\``,
        ),
      ),
      `${missing}:1:9 policy_file ${join(dir, "gone.yaml")}: cannot read policy: the file does not exist: check the path`,
      "warden: policy_test_invalid: 10 problems in the cases or their policies (listed above): fix them and run the tests again",
    ]);
  });

  it("reports a policy with errors as its own located errors (exit 2)", async () => {
    const p = write("broken.yaml", "mcp:\n  tools:\n    allow:\n      - nme: x\n");
    const f = write(
      "uses-broken.yaml",
      "policy: broken.yaml\ncases:\n  - { name: a, action: { kind: tool.call, name: a }, expect: deny }\n",
    );
    const r = await run(["policy", "test", f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${p}:4:9 policy_unknown_key unknown key "nme"`);
  });

  it("a case may test a malformed action on purpose with code: bad_action", async () => {
    const f = write(
      "malformed.yaml",
      `policy: ${JSON.stringify(gw)}\ncases:\n  - { name: no name, action: { kind: tool.call }, expect: deny, code: bad_action }\n`,
    );
    const r = await run(["policy", "test", f]);
    expect(r.code).toBe(0);
  });

  it("refuses an alias bomb and a case nested too deep, located, before anything expands or recurses", async () => {
    let bombText = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (let i = 1; i < 8; i++)
      bombText += `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(", ")}]\n`;
    const bomb = write("bomb.yaml", `${bombText}cases: *a7\n`);
    const deep = write(
      "deep.yaml",
      `cases:\n  - name: x\n    action: ${"[".repeat(5000)}${"]".repeat(5000)}\n`,
    );
    const r = await run(["policy", "test", bomb, deep]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bomb}:1:1 policy_test_syntax `);
    expect(r.stderr).toMatch(
      new RegExp(`${deep}:3:\\d+ policy_test_syntax cases\\[0\\]\\.action.* nests too deep`),
    );
  });

  it("a directory with no case files is bad input", async () => {
    const empty = mkdtempSync(join(tmpdir(), "warden-policy-test-empty-"));
    const r = await run(["policy", "test", empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${empty}:1:1 policy_test_file the directory has no .yaml, .yml or .json case files`,
    );
  });
});
