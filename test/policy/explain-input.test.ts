/**
 * `explanation.input` is the action as it was judged, canonical everywhere (docs/policy.md,
 * "Decisions"): tool and prompt arguments that the deciding rule constrains as paths, nested in
 * `items` and `properties` too, are shown canonical, not as the caller wrote them.
 */
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/policy/index.js";

const r = compilePolicy(
  `version: "1.0"
mcp:
  tools:
    allow:
      - name: rd
        parameters:
          path: "/data/**"
          paths: { items: "/data/**" }
          opt: { properties: { p: "/data/**" }, required: false }
  prompts:
    allow:
      - name: pr
        parameters: { file: "/data/**" }
`,
  { file: "p.yaml" },
);
if (!r.ok) throw new Error(JSON.stringify(r.errors));
const p = r.policy;

describe("explain shows tool and prompt arguments as judged", () => {
  it("paths a rule constrains are canonical, nested ones too; others are as given", () => {
    const d = p.check(
      {
        kind: "tool.call",
        name: "rd",
        arguments: {
          path: "/data/x/../y",
          paths: ["/data//a", "/data/./b"],
          opt: { p: "/data/q/..", q: "/x/../y" },
          other: "/a/../b",
        },
      },
      { explain: true },
    );
    expect(d.allowed).toBe(true);
    expect(d.explanation?.input).toEqual({
      kind: "tool.call",
      name: "rd",
      arguments: {
        path: "/data/y",
        paths: ["/data/a", "/data/b"],
        opt: { p: "/data", q: "/x/../y" },
        other: "/a/../b",
      },
    });
  });

  it("a denied traversal shows the path it came to, as the reason does", () => {
    const d = p.check(
      { kind: "tool.call", name: "rd", arguments: { path: "/data/../etc/passwd", paths: [] } },
      { explain: true },
    );
    expect(d.code).toBe("condition");
    expect(d.reason).toContain('"/etc/passwd" (canonical)');
    expect(d.explanation?.input).toMatchObject({
      arguments: { path: "/etc/passwd", paths: [] },
    });
  });

  it("prompt arguments too", () => {
    const d = p.check(
      { kind: "prompt.get", name: "pr", arguments: { file: "/data/./a//b" } },
      { explain: true },
    );
    expect(d.allowed).toBe(true);
    expect(d.explanation?.input).toMatchObject({ arguments: { file: "/data/a/b" } });
  });

  it("without explain, the decision is the rule's own frozen answer (nothing copied)", () => {
    const a = { kind: "tool.call", name: "rd", arguments: { path: "/data/y", paths: [] } };
    expect(p.check(a)).toBe(p.check(a));
  });
});
