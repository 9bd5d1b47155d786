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
    expect(issues(["ev", "ev-2", "Evx", "e9"])).toEqual([]);
  });

  it('refuses a prefixed upstream whose name cannot be a URI scheme ("_", a leading digit), saying what to rename it to', () => {
    const out = issues(["ev", "my_files", "2nd"]);
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(
      /^\/cfg\/warden\.yaml:4:\d+ upstreams\[1\]\.name invalid_value: Upstream name "my_files" cannot prefix its resource URIs: "my_files\+<uri>" is not a URI scheme/,
    );
    expect(out[0]).toContain('Rename it (e.g. "my-files"), or set prefix: false on it.');
    expect(out[1]).toMatch(/:5:\d+ upstreams\[2\]\.name invalid_value: .*"2nd"/);
  });

  it("accepts such a name when it prefixes nothing: alone, or with prefix: false", () => {
    expect(issues(["my_files"])).toEqual([]);
    const r = parseConfig(
      "policy: ./p.yaml\nupstreams:\n  - { name: ev, command: srv }\n  - { name: my_files, command: srv, prefix: false }\n",
      "/cfg/warden.yaml",
    );
    expect(r.ok).toBe(true);
  });
});
