import { describe, expect, it } from "vitest";
import { type ActionContext, parseRules } from "../../src/rules/index.js";

const ctx: ActionContext = {
  namespace: "mcp",
  tenant: "alice",
  provider: "payments",
  action_type: "payment",
  payload: { amount: 150, to: "bob", tags: ["eu"] },
  metadata: { method: "tools/call" },
};

function problems(yaml: string): string[] {
  const r = parseRules(yaml, "r.yaml");
  return r.ok ? [] : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`);
}

describe("CEL rules", () => {
  it("a CEL condition decides, with the variables of the plugin input", () => {
    const r = parseRules(
      `rules:
  - name: big-payment
    priority: 1
    condition: 'action_type == "payment" && payload.amount > 100 && tenant.startsWith("al")'
    action: review
  - name: eu
    priority: 2
    condition: '"eu" in payload.tags && metadata.method == "tools/call"'
    action: deny
`,
      "r.yaml",
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.rules.rules.map((x) => x.source)).toEqual(["cel", "cel"]);
    expect(r.rules.evaluate(ctx)).toMatchObject({ action: "review", rule: "big-payment" });
    expect(r.rules.evaluate({ ...ctx, payload: { amount: 5, tags: ["eu"] } }).action).toBe("deny");
    const t = r.rules.evaluate(ctx, { trace: true }).trace!;
    expect(t[0]!.cel).toEqual({
      expression: 'action_type == "payment" && payload.amount > 100 && tenant.startsWith("al")',
      value: true,
    });
  });

  it("type and parse errors are located at the expression's character (quoted, block)", () => {
    expect(
      problems(`rules:
  - name: bad-type
    condition: 'action_type == "x" && 1 + "a" == 2'
    action: deny
`),
    ).toEqual([expect.stringMatching(/^3:39 rules_cel CEL: no such overload: int \+ string/)]);
    expect(
      problems(`rules:
  - name: bad-block
    condition: |
      action_type == "x" &&
        nope == 1
    action: deny
`),
    ).toEqual([expect.stringMatching(/^5:9 rules_cel CEL: Unknown variable: nope/)]);
    expect(
      problems('rules:\n  - name: p\n    condition: "action_type =="\n    action: deny\n'),
    ).toEqual([expect.stringMatching(/^3:31 rules_cel CEL: Unexpected token: EOF/)]);
  });

  it("a condition must be a bool; namespace is a reserved word in CEL", () => {
    expect(problems('rules:\n  - name: n\n    condition: "1 + 2"\n    action: deny\n')[0]).toMatch(
      /rules_cel CEL: the condition is of type int; a rule's condition must be a bool/,
    );
    expect(
      problems('rules:\n  - name: n\n    condition: namespace == "mcp"\n    action: deny\n')[0],
    ).toMatch(/rules_cel/);
  });

  it("matches() is refused (backtracking RegExp), pointing at the call; wasm() takes literals", () => {
    expect(
      problems(
        `rules:\n  - name: m\n    condition: 'tenant.matches("^(a+)+$")'\n    action: deny\n`,
      ),
    ).toEqual([expect.stringMatching(/^3:17 rules_cel CEL: matches\(\) is not allowed .* RE2/)]);
    expect(
      problems(
        `rules:\n  - name: w\n    condition: 'wasm(tenant, "evaluate")'\n    action: deny\n`,
      ),
    ).toEqual([expect.stringMatching(/^3:17 rules_cel CEL: wasm\(\) takes two string literals/)]);
  });

  it("a CEL error at run time follows on_error: deny by default (fail closed), or skip", () => {
    const yaml = (onError: string) => `rules:
  - name: missing-key
    condition: 'payload.nope == 1'
    action: log
${onError}
  - name: after
    priority: 5
    condition: 'true'
    action: warn
`;
    const strict = parseRules(yaml(""), "r.yaml");
    const lax = parseRules(yaml("    on_error: skip"), "r.yaml");
    if (!strict.ok || !lax.ok) throw new Error("load");
    const d = strict.rules.evaluate(ctx);
    expect(d.action).toBe("deny");
    expect(d.reason).toMatch(
      /rule "missing-key" \(r.yaml:2\) could not be evaluated \(rules_eval_failed: .*nope.*\); its on_error is deny/,
    );
    expect(lax.rules.evaluate(ctx)).toMatchObject({ action: "warn", rule: "after" });
    const t = lax.rules.evaluate(ctx, { trace: true }).trace!;
    expect(t[0]).toMatchObject({
      result: "skipped",
      error: { code: "rules_eval_failed", on_error: "skip" },
    });
  });
});
