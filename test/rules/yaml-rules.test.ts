import { describe, expect, it } from "vitest";
import { type ActionContext, parseRules, type RuleSet } from "../../src/rules/index.js";

function ctx(over: Partial<ActionContext> = {}): ActionContext {
  return {
    namespace: "mcp",
    tenant: "alice",
    provider: "payments",
    action_type: "transfer",
    payload: { amount: 150, to: "bob", tags: ["urgent", "eu"], nested: { level: 3 } },
    metadata: { method: "tools/call" },
    ...over,
  };
}

function load(yaml: string): RuleSet {
  const r = parseRules(yaml, "r.yaml");
  if (!r.ok)
    throw new Error(r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join("\n"));
  return r.rules;
}

/** The action of a one-rule file whose conditions are `conds`, on `c`. */
function decide(conds: string, c = ctx()): string | null {
  return load(`rules:\n  - name: r\n    action: deny\n    conditions:\n${conds}`).evaluate(c)
    .action;
}

describe("YAML rules: operators", () => {
  const cases: [string, string, boolean][] = [
    ["eq", "{ field: action_type, operator: eq, value: transfer }", true],
    ["eq number", "{ field: payload.amount, operator: eq, value: 150 }", true],
    ["eq is strict", '{ field: payload.amount, operator: eq, value: "150" }', false],
    ["ne", "{ field: tenant, operator: ne, value: alice }", false],
    ["ne missing", "{ field: payload.nope, operator: ne, value: x }", true],
    ["in", "{ field: provider, operator: in, value: [payments, bank] }", true],
    ["not_in", "{ field: provider, operator: not_in, value: [payments] }", false],
    ["contains string", "{ field: payload.to, operator: contains, value: o }", true],
    ["contains list", "{ field: payload.tags, operator: contains, value: eu }", true],
    ["starts_with", "{ field: action_type, operator: starts_with, value: trans }", true],
    ["ends_with", "{ field: action_type, operator: ends_with, value: fer }", true],
    ["matches (RE2)", '{ field: payload.to, operator: matches, value: "^b[a-z]+$" }', true],
    ["matches no", '{ field: payload.to, operator: matches, value: "^x" }', false],
    ["gt", "{ field: payload.amount, operator: gt, value: 100 }", true],
    ["gte", "{ field: payload.amount, operator: gte, value: 150 }", true],
    ["lt", "{ field: payload.amount, operator: lt, value: 150 }", false],
    ["lte", "{ field: payload.nested.level, operator: lte, value: 3 }", true],
    ["gt on a string", "{ field: payload.to, operator: gt, value: 1 }", false],
    ["exists", "{ field: metadata.method, operator: exists }", true],
    ["exists false", "{ field: payload.nope, operator: exists, value: false }", true],
    ["list index", "{ field: payload.tags.1, operator: eq, value: eu }", true],
    ["no prototype", "{ field: payload.constructor, operator: exists }", false],
  ];
  for (const [name, cond, want] of cases)
    it(name, () => expect(decide(`      - ${cond}\n`)).toBe(want ? "deny" : null));
});

describe("YAML rules: groups", () => {
  it("all, any and not nest", () => {
    const conds = `      - any:
          - { field: tenant, operator: eq, value: mallory }
          - all:
              - { field: payload.amount, operator: gt, value: 100 }
              - not: { field: payload.to, operator: eq, value: alice }
`;
    expect(decide(conds)).toBe("deny");
    expect(decide(conds, ctx({ payload: { amount: 150, to: "alice" } }))).toBe(null);
    expect(decide(conds, ctx({ tenant: "mallory", payload: {} }))).toBe("deny");
  });

  it("a list of conditions means all of them", () => {
    const two =
      "      - { field: tenant, operator: eq, value: alice }\n      - { field: provider, operator: eq, value: x }\n";
    expect(decide(two)).toBe(null);
    const rs = load(
      "rules:\n  - name: g\n    action: warn\n    conditions: [ { any: [ { field: provider, operator: eq, value: x }, { field: tenant, operator: eq, value: alice } ] } ]\n",
    );
    expect(rs.evaluate(ctx()).action).toBe("warn");
  });
});

describe("YAML rules: order and actions", () => {
  const file = `rules:
  - name: late-deny
    priority: 20
    action: deny
    conditions: [ { field: tenant, operator: eq, value: alice } ]
  - name: allow-small
    priority: 10
    action: allow
    conditions: [ { field: payload.amount, operator: lt, value: 100 } ]
  - name: review-big
    priority: 10
    action: review
    description: big transfers need a person
    conditions: [ { field: payload.amount, operator: gte, value: 1000 } ]
  - name: off
    priority: 0
    enabled: false
    action: deny
    conditions: []
`;
  it("lower priority first, file order on ties; the first match decides; allow ends evaluation", () => {
    const rs = load(file);
    expect(rs.rules.map((r) => r.name)).toEqual(["off", "allow-small", "review-big", "late-deny"]);
    expect(rs.evaluate(ctx({ payload: { amount: 5 } }))).toMatchObject({
      action: "allow",
      rule: "allow-small",
    });
    expect(rs.evaluate(ctx({ payload: { amount: 5000 } }))).toMatchObject({
      action: "review",
      rule: "review-big",
      where: "r.yaml:10",
    });
    expect(rs.evaluate(ctx()).reason).toContain('rule "late-deny" (r.yaml:2) matched');
    expect(rs.evaluate(ctx({ tenant: "bob" })).action).toBe(null);
  });

  it("the trace names every rule, each condition's value, disabled and not-reached rules", () => {
    const out = load(file).evaluate(ctx({ payload: { amount: 5000 } }), { trace: true });
    expect(out.trace?.map((t) => [t.rule_name, t.result])).toEqual([
      ["off", "disabled"],
      ["allow-small", "not_matched"],
      ["review-big", "matched"],
      ["late-deny", "not_reached"],
    ]);
    expect(out.trace?.[2]?.conditions).toEqual([
      { at: "rules[2].conditions[0]", test: "payload.amount gte 1000", actual: 5000, result: true },
    ]);
  });
});

describe("YAML rules: problems are located", () => {
  function problems(yaml: string): string[] {
    const r = parseRules(yaml, "r.yaml");
    if (r.ok) return [];
    return r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`);
  }

  it("an unknown operator, with a did you mean", () => {
    const p = problems(
      "rules:\n  - name: a\n    action: deny\n    conditions:\n      - { field: tenant, operator: equals, value: x }\n",
    );
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^5:36 rules_schema .*operator must be one of "eq".*not "equals"/);
  });

  it("an unknown key, a missing action, a bad action value, a duplicate name", () => {
    const p = problems(`rules:
  - name: a
    actoin: deny
  - name: b
    action: block
  - name: c
    action: deny
    conditions: []
  - name: c
    action: deny
    conditions: []
`);
    expect(p.join("\n")).toMatch(/2:5 rules_schema .*needs the key "action"/);
    expect(p.join("\n")).toMatch(/3:5 rules_schema unknown key "actoin".*did you mean "action"/);
    expect(p.join("\n")).toMatch(/5:13 rules_schema .*"deny"/);
    expect(p.join("\n")).toMatch(
      /9:11 rules_duplicate rule name "c" is used twice \(first at line 6\)/,
    );
  });

  it("unknown fields, wrong values, a leaf mixed with a group, a bad RE2 pattern", () => {
    const p = problems(`rules:
  - name: a
    action: deny
    conditions:
      - { field: user, operator: eq, value: x }
      - { field: payload.n, operator: gt, value: "10" }
      - { field: tenant, operator: in, value: alice }
      - { field: tenant, operator: eq, value: x, any: [] }
      - { field: tenant, operator: matches, value: "(a)\\\\1" }
`);
    expect(p).toHaveLength(5);
    expect(p[0]).toMatch(/^5:18 rules_condition unknown field "user"/);
    expect(p[1]).toMatch(/^6:50 rules_condition gt compares with a number/);
    expect(p[2]).toMatch(/^7:47 rules_condition in takes a list/);
    expect(p[3]).toMatch(/^8:9 rules_condition .*mixes field and any/);
    expect(p[4]).toMatch(/^9:52 rules_condition the pattern is not valid RE2/);
  });

  it("YAML syntax errors and too deep nesting are refused with their place", () => {
    expect(problems("rules: [\n")[0]).toMatch(/rules_syntax/);
    let nested = "{ field: tenant, operator: eq, value: x }";
    for (let i = 0; i < 200; i++) nested = `{ not: ${nested} }`;
    const p = problems(`rules:\n  - name: d\n    action: deny\n    conditions: [ ${nested} ]\n`);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^4:\d+ rules_syntax .*nests deeper than/);
  });
});
