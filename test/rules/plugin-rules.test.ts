import { beforeAll, describe, expect, it } from "vitest";
import {
  type ActionContext,
  DirectoryPlugins,
  loadRulesOrThrow,
  parseRules,
  type RuleSet,
} from "../../src/rules/index.js";
import { CLANG_MISSING, pluginDir, ROOT } from "./build.js";

function ctx(over: Partial<ActionContext> = {}): ActionContext {
  return {
    namespace: "mcp",
    tenant: "alice",
    provider: "payments",
    action_type: "payment",
    payload: { amount: 12000 },
    metadata: {},
    ...over,
  };
}

let plugins: DirectoryPlugins;
beforeAll(async () => {
  plugins = await DirectoryPlugins.load(await pluginDir(), { limits: { timeout_ms: 20 } });
}, 180_000);

function rules(yaml: string): RuleSet {
  const r = parseRules(yaml, "r.yaml", { plugins });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.rules;
}

describe("plugin rules (real AssemblyScript and C plugins built at test time)", () => {
  it("the example rules file: the AssemblyScript fraud-scorer flags a big payment", () => {
    const rs = loadRulesOrThrow(`${ROOT}/examples/rules/rules.yaml`, { plugins });
    const out = rs.evaluate(ctx(), { trace: true });
    expect(out).toMatchObject({ action: "deny", rule: "premium-fraud-check" });
    const t = out.trace!.find((r) => r.rule_name === "premium-fraud-check")!;
    expect(t.result).toBe("matched");
    expect(t.source).toBe("wasm_plugin");
    expect(t.wasm_details).toEqual([
      {
        plugin: "fraud-scorer",
        function: "evaluate",
        verdict: true,
        message: "high risk score: 0.92",
        duration_us: expect.any(Number),
        memory_used_bytes: expect.any(Number),
      },
    ]);
    // a small payment: the plugin says false, and the rule does not match
    expect(rs.evaluate(ctx({ payload: { amount: 5 } })).action).toBe(null);
    // its condition does not hold: the plugin is not called
    const other = rs.evaluate(ctx({ action_type: "refund" }), { trace: true });
    expect(other.trace!.find((r) => r.rule_name === "premium-fraud-check")!.wasm_details).toBe(
      undefined,
    );
  });

  it.skipIf(CLANG_MISSING !== undefined)(
    "the C spam-detector, from YAML and from CEL wasm()",
    () => {
      const rs = loadRulesOrThrow(`${ROOT}/examples/rules/rules.yaml`, { plugins });
      expect(rs.evaluate(ctx({ action_type: "spam" }))).toMatchObject({
        action: "deny",
        rule: "spam-check",
        reason: expect.stringContaining("Block spam"),
      });
      const cel = rules(`rules:
  - name: not-spam
    condition: '!wasm("spam-detector", "evaluate") && action_type == "note"'
    action: warn
`);
      expect(cel.evaluate(ctx({ action_type: "note", payload: { text: "hi" } })).action).toBe(
        "warn",
      );
      const t = cel.evaluate(ctx({ action_type: "note", payload: { text: "win the lottery" } }), {
        trace: true,
      }).trace![0]!;
      expect(t.result).toBe("not_matched");
      expect(t.cel?.value).toBe(false);
      expect(t.wasm_details?.[0]).toMatchObject({
        plugin: "spam-detector",
        verdict: true,
        message: "the payload looks like spam",
      });
    },
  );

  it("a plugin that loops, traps, lies or is missing follows on_error (deny by default), and never crashes", () => {
    for (const p of ["looper", "trapper", "liar", "nowhere"]) {
      const rs = rules(`rules:
  - name: r-${p}
    wasm_plugin: ${p}
    action: log
  - name: r-${p}-skip
    wasm_plugin: ${p}
    action: log
    on_error: skip
`);
      const out = rs.evaluate(ctx(), { trace: true });
      expect(out.action, p).toBe("deny");
      expect(out.reason).toMatch(
        new RegExp(
          `rule "r-${p}" .* could not be evaluated \\(rules_plugin_failed: .*\\); its on_error is deny`,
        ),
      );
      const d = out.trace![0]!.wasm_details![0]!;
      expect(d.verdict).toBe(null);
      expect(d.error?.code).toBe(
        { looper: "timeout", trapper: "trap", liar: "invalid_output", nowhere: "not_found" }[p],
      );
      const skip = rules(`rules:
  - name: s
    wasm_plugin: ${p}
    action: deny
    on_error: skip
`);
      expect(skip.evaluate(ctx()).action).toBe(null);
    }
  });

  it("a plugin failing inside CEL follows on_error too", () => {
    const rs = rules(`rules:
  - name: cel-trap
    condition: 'action_type == "payment" && wasm("trapper", "evaluate")'
    action: log
    on_error: review
`);
    const out = rs.evaluate(ctx(), { trace: true });
    expect(out.action).toBe("review");
    expect(out.trace![0]!.error).toMatchObject({ code: "rules_plugin_failed", on_error: "review" });
    expect(out.trace![0]!.wasm_details![0]!.error?.code).toBe("trap");
  });
});
