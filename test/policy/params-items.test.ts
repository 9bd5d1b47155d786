/**
 * Array and object arguments can be constrained (`items`, `properties`): before, a `path`
 * constraint on an array argument (server-filesystem's `read_multiple_files` `paths`) denied
 * every call, and nothing could say what an object argument's fields must be.
 */
import { describe, expect, it } from "vitest";
import { type CompiledPolicy, compilePolicy } from "../../src/policy/index.js";

function policy(src: string): CompiledPolicy {
  const r = compilePolicy(src, { file: "p.yaml" });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

const P = policy(`version: "1.0"
mcp:
  tools:
    allow:
      - name: read_multiple_files
        parameters:
          paths:
            items: "/data/pub/**"
      - name: edit_file
        parameters:
          path: "/data/pub/**"
          edits:
            type: array
            items:
              properties:
                oldText: { type: string, max_length: 100 }
                newText: { type: string, max_length: 100 }
      - name: copy
        parameters:
          spec:
            properties:
              from: "/data/pub/**"
              to: { path: "/data/out/**" }
              mode: { enum: [fast, safe], required: false }
`);

const call = (name: string, args: Record<string, unknown>) =>
  P.check({ kind: "tool.call", name, arguments: args });

describe("items: every element of an array is checked", () => {
  it("allows read_multiple_files when every path is inside", () => {
    expect(call("read_multiple_files", { paths: ["/data/pub/a", "/data/pub/b/c"] })).toMatchObject({
      allowed: true,
      code: "allow_rule",
    });
    expect(call("read_multiple_files", { paths: [] }).allowed).toBe(true);
  });

  it("denies it when one path is outside, naming the element", () => {
    const d = call("read_multiple_files", { paths: ["/data/pub/a", "/data/pub/../secret/s"] });
    expect(d).toMatchObject({ allowed: false, code: "condition" });
    expect(d.reason).toContain('argument "paths" [1] is "/data/secret/s" (canonical), outside');
  });

  it("denies a path refused by canonicalization and a non-string element", () => {
    expect(call("read_multiple_files", { paths: ["/data/pub/a\\..\\..\\x"] }).reason).toMatch(
      /\[0\] is not an acceptable path \(path contains a backslash/,
    );
    expect(call("read_multiple_files", { paths: ["/data/pub/a", 7] }).reason).toMatch(
      /\[1\] is not an acceptable path \(path must be a string\)/,
    );
  });

  it("denies a value that is not an array", () => {
    expect(call("read_multiple_files", { paths: "/data/pub/a" }).reason).toMatch(
      /"paths" must be an array \(it has items\), not string/,
    );
  });

  it("checks objects inside arrays (edit_file edits)", () => {
    const ok = { path: "/data/pub/f", edits: [{ oldText: "a", newText: "b" }] };
    expect(call("edit_file", ok).allowed).toBe(true);
    const long = {
      path: "/data/pub/f",
      edits: [ok.edits[0], { oldText: "a", newText: "x".repeat(101) }],
    };
    expect(call("edit_file", long).reason).toMatch(
      /argument "edits" \[1\] property "newText" is 101 characters long, over max_length 100/,
    );
    expect(call("edit_file", { ...ok, edits: [{ oldText: "a" }] }).reason).toMatch(
      /\[0\] property "newText" is required by the rule/,
    );
    expect(call("edit_file", { ...ok, edits: [null] }).reason).toMatch(
      /\[0\] must be an object \(it has properties\), not null/,
    );
  });
});

describe("properties: named fields of an object are checked", () => {
  it("allows an object whose fields hold, optional ones absent", () => {
    expect(call("copy", { spec: { from: "/data/pub/a", to: "/data/out/a" } }).allowed).toBe(true);
    expect(
      call("copy", { spec: { from: "/data/pub/a", to: "/data/out/a", mode: "safe", x: 1 } })
        .allowed,
    ).toBe(true);
  });

  it("denies a field outside its glob, a missing required field and a bad enum", () => {
    expect(call("copy", { spec: { from: "/data/secret", to: "/data/out/a" } }).reason).toMatch(
      /argument "spec" property "from" is "\/data\/secret" \(canonical\), outside \/data\/pub\/\*\*/,
    );
    expect(call("copy", { spec: { from: "/data/pub/a" } }).reason).toMatch(
      /property "to" is required by the rule/,
    );
    expect(
      call("copy", { spec: { from: "/data/pub/a", to: "/data/out/a", mode: "yolo" } }).reason,
    ).toMatch(/property "mode" "yolo" is not one of/);
  });

  it("denies a value that is not an object", () => {
    for (const spec of [[], "x", null])
      expect(call("copy", { spec }).reason).toMatch(/must be an object \(it has properties\)/);
  });
});

describe("compiling items and properties", () => {
  it("reports a bad glob inside items with its key", () => {
    const r = compilePolicy(
      `mcp:\n  tools:\n    allow:\n      - name: t\n        parameters:\n          paths:\n            items: "/a/../b"\n`,
      { file: "bad.yaml" },
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors[0]).toMatchObject({ line: 7, code: "policy_bad_pattern" });
    expect(!r.ok && r.errors[0]!.key).toContain("items");
  });

  it("reports an unknown key inside properties", () => {
    const r = compilePolicy(
      `mcp:\n  tools:\n    allow:\n      - name: t\n        parameters:\n          spec:\n            properties:\n              a: { pth: "/x/**" }\n`,
      { file: "bad.yaml" },
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors[0]!.message).toMatch(/pth/);
  });

  it("refuses nesting deeper than 8 levels", () => {
    let c = `"/x/**"`;
    for (let i = 0; i < 9; i++) c = `{ items: ${c} }`;
    const r = compilePolicy(
      `mcp:\n  tools:\n    allow:\n      - name: t\n        parameters:\n          a: ${c}\n`,
      { file: "deep.yaml" },
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors[0]!.message).toMatch(/nests deeper than 8 levels/);
  });
});
