/** `warden policy check|eval` through the real CLI (run `npm run build` first). */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

function warden(...args: string[]) {
  const r = spawnSync(process.execPath, ["dist/cli/main.js", ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), "warden-policy-cli-"));
const bad = join(dir, "bad.yaml");
writeFileSync(
  bad,
  `version: "1.0"\nmcp:\n  tools:\n    allow:\n      - nme: calc\n    deny: [1]\nstorage:\n  alow: []\n`,
);
const gw = "examples/policies/mcp-gateway.yaml";

describe("warden policy check", () => {
  it("prints a summary and exits 0 for a good policy", () => {
    const r = warden("policy", "check", gw);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: true, file: gw, version: "1.0" });
    expect(out.summary.rules["mcp.tools"]).toEqual({ allow: 4, deny: 2 });
    expect(out.revision).toMatch(/^[0-9a-f]{64}$/);
  });

  it("prints every error as file:line:col code message and exits 2", () => {
    const r = warden("policy", "check", bad);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toContain(
      `${bad}:5:9 policy_unknown_key unknown key "nme" in mcp.tools.allow[0] (did you mean "name"?); known keys: name, parameters, max_calls_per_minute, callers`,
    );
    expect(lines.some((l) => l.startsWith(`${bad}:6:12 policy_type `))).toBe(true);
    expect(
      lines.some(
        (l) =>
          l.startsWith(`${bad}:8:3 policy_unknown_key `) && l.includes('did you mean "allow"?'),
      ),
    ).toBe(true);
    expect(lines.at(-1)).toMatch(/^warden: policy_invalid: .* errors/);
  });

  it("reports a missing file with exit 2", () => {
    const r = warden("policy", "check", join(dir, "nope.yaml"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("policy_file cannot read policy: the file does not exist");
  });
});

describe("warden policy eval", () => {
  it("exits 0 when allowed and prints the decision", () => {
    const r = warden(
      "policy",
      "eval",
      gw,
      "--action",
      '{"kind":"tool.call","name":"calculator/add","arguments":{}}',
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      allowed: true,
      rule: `${gw}:8`,
      ruleId: "mcp.tools.allow[0]",
    });
  });

  it("exits 1 when denied, with the explanation on request", () => {
    const r = warden(
      "policy",
      "eval",
      gw,
      "--explain",
      "-a",
      '{"kind":"tool.call","name":"SYSTEM_exec"}',
    );
    expect(r.code).toBe(1);
    const d = JSON.parse(r.stdout);
    expect(d).toMatchObject({
      allowed: false,
      code: "deny_rule",
      explanation: { result: "deny", input: { name: "SYSTEM_exec" } },
    });
    expect(d.explanation.time_ns).toBeGreaterThan(0);
  });

  it("a default deny prints the exact key to add as hint", () => {
    const r = warden("policy", "eval", gw, "-a", '{"kind":"tool.call","name":"files__delete"}');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      code: "no_rule",
      hint: 'add `- name: "files__delete"` under mcp.tools.allow',
    });
  });

  it("evaluates an array of actions in order (rate limits apply), exit = the worst", () => {
    const call = { kind: "tool.call", name: "search", arguments: { query: "q" }, caller: "bob" };
    const r = warden(
      "policy",
      "eval",
      gw,
      "-a",
      JSON.stringify(Array.from({ length: 31 }, () => call)),
    );
    expect(r.code).toBe(1);
    const ds = JSON.parse(r.stdout) as { allowed: boolean; code: string }[];
    expect(ds.filter((d) => d.allowed)).toHaveLength(30);
    expect(ds[30]!.code).toBe("rate_limited");
  });

  it.each([
    ["not JSON", "{kind:"],
    ["unknown kind", '{"kind":"teleport"}'],
    ["malformed action", '{"kind":"tool.call"}'],
  ])("exits 2 on bad input: %s", (_name, action) => {
    const r = warden("policy", "eval", gw, "-a", action);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^warden: policy_bad_action: /m);
  });

  it("exits 2 on a bad policy", () => {
    expect(warden("policy", "eval", bad, "-a", '{"kind":"tool.call","name":"x"}').code).toBe(2);
  });
});
