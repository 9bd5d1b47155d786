/**
 * `callers` of mcp allow rules (docs/policy.md, docs/identity.md): user:, group: and scope:
 * entries decide who a rule allows, in calls and in lists; anyone else falls through to the
 * next rule or is denied, and an action that names nobody matches no callers (fail closed).
 */
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/policy/index.js";

const r = compilePolicy(
  `version: "1.0"
mcp:
  tools:
    allow:
      - name: open
      - name: read
        callers: ["group:eng", "user:alice"]
      - name: write
        callers: ["scope:files.write"]
      - name: write
        callers: ["user:root"]
  prompts:
    allow:
      - name: p
        callers: ["group:eng"]
`,
  { file: "p.yaml" },
);
if (!r.ok) throw new Error(JSON.stringify(r.errors));
const p = r.policy;
const call = (name: string, who: object) =>
  p.check({ kind: "tool.call", name, arguments: {}, ...who });

describe("callers of mcp rules", () => {
  it("allows the callers named by user, group or scope, and no one else", () => {
    expect(call("read", { caller: "alice" }).allowed).toBe(true);
    expect(call("read", { caller: "x", groups: ["eng"] }).allowed).toBe(true);
    expect(call("write", { caller: "x", scopes: ["files.write"] }).allowed).toBe(true);
    expect(call("write", { caller: "root" }).allowed).toBe(true);
    const bob = call("read", { caller: "bob", groups: ["sales"] });
    expect(bob.allowed).toBe(false);
    expect(bob.reason).toMatch(
      /caller "bob" \(groups: sales\) is not among callers \[group:eng, user:alice\]/,
    );
    expect(call("read", {}).allowed).toBe(false);
    expect(call("open", {}).allowed).toBe(true);
  });

  it("lists follow the callers; prompts too", () => {
    const list = (name: string, who: object) =>
      p.check({ kind: "tool.list", name, ...who }).allowed;
    expect(list("read", { caller: "alice" })).toBe(true);
    expect(list("read", { caller: "bob" })).toBe(false);
    expect(list("write", { caller: "root" })).toBe(true);
    expect(
      p.check({ kind: "prompt.get", name: "p", arguments: {}, caller: "x", groups: ["eng"] })
        .allowed,
    ).toBe(true);
    expect(p.check({ kind: "prompt.list", name: "p", caller: "x" }).allowed).toBe(false);
  });

  it("explain shows who asked", () => {
    const d = p.check(
      { kind: "tool.call", name: "read", arguments: {}, caller: "bob", groups: ["sales"] },
      { explain: true },
    );
    expect(d.explanation?.input).toMatchObject({ caller: "bob", groups: ["sales"] });
  });

  it("refuses malformed callers at compile time, and malformed groups at check time", () => {
    const bad = compilePolicy(
      `version: "1.0"\nmcp:\n  tools:\n    allow:\n      - { name: x, callers: ["eng"] }\n`,
      { file: "b.yaml" },
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors[0]?.message).toMatch(/user:<name>.*group:<name>.*scope:<name>/);
    expect(call("read", { caller: "a", groups: "eng" }).allowed).toBe(false);
  });
});
