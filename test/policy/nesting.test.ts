/**
 * A policy nested deeper than 64 levels is refused with `policy_too_deep`, its line, key and
 * the limit, before anything recurses over it. Before, 1,000 levels of `items` ended in the
 * `yaml` composer's stack overflow (reported as `policy_syntax Maximum call stack size
 * exceeded` at an arbitrary column, a limit that depends on the engine's stack), and deeper
 * texts ran out of stack or memory.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/policy/index.js";

const root = join(import.meta.dirname, "../..");
const HEAD = 'version: "1.0"\nmcp:\n  tools:\n    allow:\n      - name: t\n        parameters:\n';

/** `p` constrained by `n` levels of `items`, in flow style (one line). */
function flowItems(n: number): string {
  let c = "{ type: string }";
  for (let i = 0; i < n; i++) c = `{ items: ${c} }`;
  return `${HEAD}          p: ${c}\n`;
}

/** The same in block style (one level per line). */
function blockItems(n: number): string {
  let s = `${HEAD}          p:\n`;
  let indent = "            ";
  for (let i = 0; i < n; i++) {
    s += `${indent}items:\n`;
    indent += "  ";
  }
  return `${s}${indent}type: string\n`;
}

/** The same as JSON. */
function jsonItems(n: number): string {
  let c = '{"type":"string"}';
  for (let i = 0; i < n; i++) c = `{"items":${c}}`;
  return `{"version":"1.0","mcp":{"tools":{"allow":[{"name":"t","parameters":{"p":${c}}}]}}}`;
}

function refusedTooDeep(text: string) {
  const r = compilePolicy(text, { file: "p.yaml" });
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error("compiled");
  expect(r.errors).toHaveLength(1);
  const e = r.errors[0]!;
  expect(e.code).toBe("policy_too_deep");
  expect(e.file).toBe("p.yaml");
  expect(e.message).toContain("deeper than 64 levels");
  return e;
}

describe("deeply nested parameter constraints are refused with their line, key and the limit", () => {
  for (const n of [100, 1000, 3000]) {
    it(`${n} levels of items, flow style`, () => {
      const e = refusedTooDeep(flowItems(n));
      expect(e.line).toBe(7);
      expect(e.key.startsWith("mcp.tools.allow[0].parameters.p.items.items")).toBe(true);
      expect(e.message).toMatch(/^mcp\.tools\.allow\[0\]\.parameters\.p… nests deeper/);
    });
    it(`${n} levels of items, JSON`, () => {
      const e = refusedTooDeep(jsonItems(n));
      expect(e.line).toBe(1);
      expect(e.key.startsWith("mcp.tools.allow[0].parameters.p.items")).toBe(true);
    });
  }
  it("1000 levels of items, block style", () => {
    const e = refusedTooDeep(blockItems(1000));
    // The 65th level: 6 levels above `p`, then `items` on lines 8, 9, ...
    expect(e.line).toBe(66);
  });
  it("properties nested 1000 levels", () => {
    let c = "{ type: string }";
    for (let i = 0; i < 1000; i++) c = `{ properties: { a: ${c} } }`;
    const e = refusedTooDeep(`${HEAD}          p: ${c}\n`);
    expect(e.key.startsWith("mcp.tools.allow[0].parameters.p.properties.a.properties.a")).toBe(
      true,
    );
  });
  it("within the limit, the constraint's own bound (8 levels of items) still speaks", () => {
    const r = compilePolicy(flowItems(20), { file: "p.yaml" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]).toMatchObject({ code: "policy_bad_value", line: 7 });
    expect(compilePolicy(flowItems(8), { file: "p.yaml" }).ok).toBe(true);
  });
});

describe("the readers themselves refuse deep nesting (never a crash)", () => {
  it("100,000 levels of [ in YAML", () => {
    const e = refusedTooDeep(`${"[".repeat(100_000)}${"]".repeat(100_000)}\n`);
    expect(e).toMatchObject({ line: 1, col: 65 });
  });
  it("100,000 levels of [ in JSON", () => {
    const e = refusedTooDeep(`{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`);
    expect(e).toMatchObject({ line: 1, col: 69 });
    expect(e.key.startsWith("a[0][0]")).toBe(true);
  });
  it("aliases that expand deeper than the limit", () => {
    const deep = `${"[".repeat(40)}1${"]".repeat(40)}`;
    const r = compilePolicy(`a: &x ${deep}\nb: [${"[".repeat(40)}*x${"]".repeat(40)}]\n`, {
      file: "p.yaml",
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]).toMatchObject({ code: "policy_too_deep", line: 1 });
  });
  it("64 levels are read (and judged by the schema as usual)", () => {
    const r = compilePolicy(`${"[".repeat(64)}${"]".repeat(64)}\n`, { file: "p.yaml" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]!.code).not.toBe("policy_too_deep");
  });
});

describe("warden policy check", () => {
  it("refuses 3000 levels of items with exit 2 and a located policy_too_deep line", () => {
    const dir = mkdtempSync(join(tmpdir(), "warden-deep-"));
    const file = join(dir, "deep.yaml");
    writeFileSync(file, flowItems(3000));
    const r = spawnSync(process.execPath, ["dist/cli/main.js", "policy", "check", file], {
      cwd: root,
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${file}:7:536 policy_too_deep mcp.tools.allow[0].parameters.p…`);
    expect(r.stderr).toContain("deeper than 64 levels");
  });
});
