// A guards config nested too deep is refused with a located guard_config_invalid naming the
// limit, before the `yaml` composer (which recurses once per level) runs.
import { describe, expect, it } from "vitest";
import { parseGuardsYaml } from "../../src/guards/config.js";

const MAPPINGS = `security_guards:\n  - id: p\n    type: pii\n    config: ${"{a: ".repeat(3_000)}1${"}".repeat(3_000)}\n`;
const BRACKETS = `security_guards: ${"[".repeat(100_000)}\n`;

describe("security_guards nested too deep", () => {
  it.each([
    ["3,000 nested mappings", MAPPINGS, 4, "security_guards[0].config.a.a.a…"],
    ["100,000 [", BRACKETS, 1, "security_guards[0][0][0][0][0]…"],
  ])("%s: guard_config_invalid at the first line past the limit", (_n, text, line, key) => {
    const r = parseGuardsYaml(text, "warden.yaml");
    expect(r.guards).toEqual([]);
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({
      file: "warden.yaml",
      line,
      code: "guard_config_invalid",
      key,
    });
    expect(r.issues[0]!.message).toMatch(/deeper than 64 levels/);
  });

  it("a normal guards config still loads", () => {
    const r = parseGuardsYaml(
      `security_guards:\n  - id: p\n    type: pii\n  - id: s\n    type: tool_poisoning\n`,
      "warden.yaml",
    );
    expect(r.issues).toEqual([]);
    expect(r.guards.map((g) => g.id).sort()).toEqual(["p", "s"]);
  });
});
