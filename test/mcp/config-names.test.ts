// Upstream names are prefixes (`<name>__<tool>`, `<name>+<uri>`): names under which two
// upstreams' public names could read the same are refused when the config is read, with the
// file, line and key of the later name.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";

function issues(names: string[]): string[] {
  const text = [
    "policy: ./p.yaml",
    "upstreams:",
    ...names.map((n) => `  - { name: ${n}, command: srv }`),
  ].join("\n");
  const r = parseConfig(text, "/cfg/warden.yaml");
  return r.ok
    ? []
    : r.errors.map((e) => `${e.file}:${e.line}:${e.col} ${e.key} ${e.code}: ${e.message}`);
}

describe("upstream names that collide under the prefix", () => {
  it('refuses "ev" beside "ev_" (ev___echo reads both ways), at the name that ends in "_"', () => {
    const out = issues(["ev", "ev_"]);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^\/cfg\/warden\.yaml:4:\d+ upstreams\[1\]\.name ambiguous_name: /);
    expect(out[0]).toContain(
      '"ev___<tool>", which also reads as upstream "ev" with tool "_<tool>"',
    );
  });

  it('refuses a name ending in "_" on its own: routing would read ev___echo as "ev" + "_echo"', () => {
    expect(issues(["ev_"])[0]).toMatch(
      /upstreams\[0\]\.name ambiguous_name: .*must not end with "_"/,
    );
  });

  it("refuses names that differ only in case: their URI prefixes are one URI scheme", () => {
    const out = issues(["Ev", "ev"]);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(
      /:4:\d+ upstreams\[1\]\.name ambiguous_name: Upstream names "Ev" and "ev" differ only in case/,
    );
  });

  it("accepts names that read back one way", () => {
    expect(issues(["ev", "ev-2", "e_v", "evx"])).toEqual([]);
  });
});
