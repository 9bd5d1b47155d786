import { readdirSync } from "node:fs";
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
