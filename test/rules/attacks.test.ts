/**
 * A rules file trying to hurt the loader or the gateway: a catastrophic regex (ReDoS), huge
 * patterns and repeat counts, deep nesting, an unknown operator, an alias bomb, prototype keys.
 * Each is refused at load with its place, or runs in linear time; none throws out of the engine.
 */
import { describe, expect, it } from "vitest";
import { type ActionContext, parseRules } from "../../src/rules/index.js";

const ctx = (text: string): ActionContext => ({
  namespace: "mcp",
  tenant: "t",
  provider: "p",
  action_type: "a",
  payload: { text },
  metadata: {},
});

function problems(yaml: string): string[] {
  const r = parseRules(yaml, "evil.yaml");
  return r.ok ? [] : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`);
}

describe("attacks on the rules loader", () => {
  it("a ReDoS pattern runs in linear time (RE2): ^(a+)+$ on 100,000 a's and a !", () => {
    const r = parseRules(
      'rules:\n  - name: redos\n    conditions: [ { field: payload.text, operator: matches, value: "^(a+)+$" } ]\n    action: deny\n',
      "evil.yaml",
    );
    if (!r.ok) throw new Error("load");
    // With JavaScript's RegExp this input would backtrack for longer than the universe lasts.
    expect(r.rules.evaluate(ctx(`${"a".repeat(100_000)}!`)).action).toBe(null);
    expect(r.rules.evaluate(ctx("aaaa")).action).toBe("deny");
  });

  it("backreferences and lookaround (which need backtracking) are refused at load", () => {
    for (const p of ["(a)\\\\1", "(?=a)b", "(?<!a)b"])
      expect(
        problems(
          `rules:\n  - name: x\n    conditions: [ { field: tenant, operator: matches, value: "${p}" } ]\n    action: deny\n`,
        )[0],
      ).toMatch(/rules_condition the pattern is not valid RE2/);
  });

  it("a huge pattern, or huge repeat counts, are refused at load", () => {
    const long = "a".repeat(5000);
    expect(
      problems(
        `rules:\n  - name: x\n    conditions: [ { field: tenant, operator: matches, value: "${long}" } ]\n    action: deny\n`,
      )[0],
    ).toMatch(/^3:\d+ rules_condition the pattern has 5000 characters; patterns are at most 1024/);
    expect(
      problems(
        'rules:\n  - name: x\n    conditions: [ { field: tenant, operator: matches, value: "((a{1000}){1000}){1000}" } ]\n    action: deny\n',
      )[0],
    ).toMatch(/invalid repeat count/);
  });

  it("deep nesting of groups is refused with its line, before anything recurses on it", () => {
    let nested = "{ field: tenant, operator: eq, value: x }";
    for (let i = 0; i < 5000; i++) nested = `{ not: ${nested} }`;
    const p = problems(`rules:\n  - name: d\n    action: deny\n    conditions: [ ${nested} ]\n`);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^4:\d+ rules_syntax .*nests deeper than/);
  });

  it("an unknown operator is refused with a did you mean", () => {
    expect(
      problems(
        "rules:\n  - name: x\n    conditions: [ { field: tenant, operator: regex, value: a } ]\n    action: deny\n",
      )[0],
    ).toMatch(/rules_schema .*operator must be one of .*not "regex"/);
  });

  it("an alias bomb is refused; prototype keys read as missing", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
      "rules: []",
    ].join("\n");
    expect(problems(bomb)[0]).toMatch(/rules_syntax/);
    const r = parseRules(
      "rules:\n  - name: proto\n    conditions: [ { field: payload.__proto__, operator: exists } ]\n    action: deny\n",
      "evil.yaml",
    );
    if (!r.ok) throw new Error("load");
    expect(r.rules.evaluate(ctx("x")).action).toBe(null);
  });
});
