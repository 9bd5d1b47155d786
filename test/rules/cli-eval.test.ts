/** `warden rules eval` on the real CLI: decisions, exit codes, the trace with wasm_details. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { pluginDir, ROOT } from "./build.js";

const CLI = join(ROOT, "dist", "cli", "main.js");
const RULES = join(ROOT, "examples", "rules", "rules.yaml");

function warden(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let plugins: string;
beforeAll(async () => {
  plugins = await pluginDir();
}, 180_000);

describe("warden rules eval", () => {
  it("--trace --json: each rule's result, each condition's value, the plugin's wasm_details; exit 1 on deny", () => {
    const r = warden(
      "rules",
      "eval",
      "--rules",
      RULES,
      "--plugins",
      plugins,
      "--trace",
      "--json",
      "--action",
      '{"action_type":"payment","tenant":"alice","payload":{"amount":12000}}',
    );
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ decision: "deny", allowed: false, rule: "premium-fraud-check" });
    const t = out.trace.find((x: { rule_name: string }) => x.rule_name === "premium-fraud-check");
    expect(t).toMatchObject({
      result: "matched",
      source: "wasm_plugin",
      conditions: [{ test: 'action_type eq "payment"', actual: "payment", result: true }],
      wasm_details: [
        {
          plugin: "fraud-scorer",
          function: "evaluate",
          verdict: true,
          message: "high risk score: 0.92",
        },
      ],
    });
    expect(t.wasm_details[0].duration_us).toBeGreaterThan(0);
    expect(t.wasm_details[0].memory_used_bytes).toBeGreaterThan(0);
  });

  it("a Warden action maps onto the plugin input; text output; exit 0 when allowed", () => {
    const r = warden(
      "rules",
      "eval",
      "--rules",
      RULES,
      "--plugins",
      plugins,
      "--trace",
      "--action",
      '{"kind":"tool.call","name":"delete_file","arguments":{"path":"/tmp/x"},"caller":"bob","upstream":"fs"}',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^log: rule "log-deletes" \(.*rules\.yaml:40\) matched/);
    expect(r.stdout).toMatch(/log-deletes +matched/);
    expect(r.stdout).toMatch(
      /action_type matches "\^\(delete\|remove\)_" \(value "delete_file"\) -> true/,
    );
  });

  it("bad rules and bad actions are bad input (exit 2), each problem located", () => {
    const bad = warden("rules", "eval", "--rules", join(ROOT, "package.json"), "--action", "{}");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/rules_invalid/);
    expect(bad.stderr).toMatch(/package\.json:\d+:\d+ rules_schema/);
    const action = warden("rules", "eval", "--rules", RULES, "--action", "[1]", "--json");
    expect(action.code).toBe(2);
    expect(JSON.parse(action.stdout).error.code).toBe("rules_bad_action");
  });

  it("warden gateway --check lists the rules file's problems, located (exit 2)", () => {
    const dir = mkdtempSync(join(tmpdir(), "warden-rules-check-"));
    writeFileSync(join(dir, "policy.yaml"), 'mcp:\n  tools:\n    allow: ["*"]\n');
    writeFileSync(
      join(dir, "rules.yaml"),
      "rules:\n  - name: x\n    action: deny\n    conditions: [ { field: nope, operator: eq, value: 1 } ]\n",
    );
    writeFileSync(
      join(dir, "warden.yaml"),
      `policy: policy.yaml\nrules: rules.yaml\nupstreams:\n  - name: a\n    command: ${JSON.stringify(process.execPath)}\n`,
    );
    const r = warden("gateway", "--check", "--json", "--config", join(dir, "warden.yaml"));
    expect(r.code).toBe(2);
    expect(JSON.stringify(JSON.parse(r.stdout).error.details.problems)).toMatch(
      /rules\.yaml:4:\d+ rules_condition .*unknown field \\"nope\\"/,
    );
  });
});
