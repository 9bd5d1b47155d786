import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkLayers, LAYERS } from "../../scripts/layers.js";

describe("import direction between layers", () => {
  it("the real tree has no import against the direction in ARCHITECTURE.md", () => {
    expect(checkLayers("src")).toEqual([]);
  });

  it("catches a planted bad import (core importing policy) in a fixture tree", () => {
    const v = checkLayers("test/architecture/fixtures/bad/src");
    expect(v).toEqual([
      { file: "core/call.ts", line: 2, from: "core", to: "policy", specifier: "../policy/rule.js" },
    ]);
  });

  it("every folder under src/ is a known layer", () => {
    const dirs = readdirSync("src", { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    for (const d of dirs) expect(Object.keys(LAYERS)).toContain(d);
  });
});

describe("shared pieces live below the layers that share them", () => {
  const importsOf = (file: string) =>
    [...readFileSync(file, "utf8").matchAll(/from "([^"]+)"/g)].map((m) => m[1]!);

  it("the core firewall and the policy's matchers compile globs with the same core code", () => {
    expect(importsOf("src/core/strategies/firewall.ts")).toContain("../glob.js");
    expect(importsOf("src/policy/match/names.ts")).toContain("../../core/glob.js");
    expect(existsSync("src/policy/match/glob.ts")).toBe(false);
  });

  it("the audit line and its writer are the audit layer's, which mcp and trace may both import", () => {
    expect(LAYERS.audit).toEqual(["core"]);
    expect(LAYERS.mcp).toContain("audit");
    expect(LAYERS.trace).toContain("audit");
    const defined = (re: RegExp) =>
      ["src/audit/record.ts", "src/audit/writer.ts", "src/mcp/audit.ts"].filter((f) =>
        re.test(readFileSync(f, "utf8")),
      );
    expect(defined(/export interface AuditRecord\b/)).toEqual(["src/audit/record.ts"]);
    expect(defined(/export class AuditLog\b/)).toEqual(["src/audit/writer.ts"]);
  });
});
