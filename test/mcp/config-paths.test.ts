/** `upstreams[].paths`: whose files an upstream's paths name (see docs/gateway.md). */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";

const parse = (upstreams: string) =>
  parseConfig(`policy: p.yaml\nupstreams:\n${upstreams}`, "/w/warden.yaml");

describe("upstreams[].paths", () => {
  it("defaults to local for command upstreams and remote for url upstreams", () => {
    const r = parse("  - { name: a, command: x }\n  - { name: b, url: 'http://h/mcp' }\n");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.upstreams.map((u) => [u.name, u.paths])).toEqual([
      ["a", "local"],
      ["b", "remote"],
    ]);
  });

  it("takes either value on either kind (a docker command is remote)", () => {
    const r = parse(
      "  - { name: a, command: docker, args: [run, -i, img], paths: remote }\n  - { name: b, url: 'http://127.0.0.1/mcp', paths: local }\n",
    );
    expect(r.ok && r.config.upstreams.map((u) => u.paths)).toEqual(["remote", "local"]);
  });

  it("refuses anything else, at its line, saying what the values mean", () => {
    const r = parse("  - name: a\n    command: x\n    paths: here\n");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({
      line: 5,
      key: "upstreams[0].paths",
      code: "invalid_value",
    });
    expect(r.errors[0]!.message).toMatch(/"local" .*"remote"/);
  });
});
