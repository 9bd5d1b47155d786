// warden.yaml validation: every problem with file:line:col and key, frozen results, and the
// CLI's --check on the shipped examples.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";
import { CLI, ROOT, tempDir } from "./helpers.js";

describe("gateway config", () => {
  it("reports every problem with its position and key", () => {
    const text = [
      "listen: { http: { port: 99999, bogus: 1 } }", // 1
      "policy: ./p.yaml", // 2
      "audit: { file: a.jsonl, arguments: all }", // 3
      "upstreams:", // 4
      "  - name: a__b", // 5
      "    url: ftp://x", // 6
      "  - name: ok", // 7
      "    commandd: node", // 8
    ].join("\n");
    const r = parseConfig(text, "/cfg/warden.yaml");
    expect(r.ok).toBe(false);
    const lines = r.ok ? [] : r.errors.map((e) => `${e.line}:${e.col} ${e.key} ${e.code}`);
    expect(lines).toEqual([
      "1:25 listen.http.port invalid_value",
      "1:32 listen.http.bogus unknown_key",
      "3:36 audit.arguments invalid_value",
      "5:11 upstreams[0].name invalid_value",
      "6:10 upstreams[0].url invalid_value",
      "7:5 upstreams[1] missing_key",
      "8:5 upstreams[1].commandd unknown_key",
    ]);
  });

  it("reports YAML syntax errors with their line", () => {
    const r = parseConfig("listen: stdio\npolicy: [unclosed\n", "/cfg/w.yaml");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatchObject({ code: "yaml_syntax", file: "/cfg/w.yaml" });
  });

  it("resolves paths against the config file, applies defaults and freezes the result", () => {
    const r = parseConfig(
      "policy: p.yaml\naudit: { file: logs/a.jsonl }\nupstreams:\n  - { name: one, command: srv }\n",
      "/cfg/warden.yaml",
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.policy).toBe("/cfg/p.yaml");
    expect(r.config.audit).toEqual({ file: "/cfg/logs/a.jsonl", arguments: "redacted" });
    expect(r.config.listen).toEqual({ kind: "stdio" });
    expect(r.config.upstreams[0]).toMatchObject({ kind: "stdio", prefix: false });
    expect(Object.isFrozen(r.config.upstreams[0])).toBe(true);
    const http = parseConfig(
      "listen: { http: {} }\npolicy: p.yaml\nupstreams:\n  - { name: a, command: x }\n  - { name: b, url: 'http://h/mcp' }\n",
      "/c/w.yaml",
    );
    expect(http.ok && http.config.listen).toMatchObject({
      kind: "http",
      host: "127.0.0.1",
      port: 8931,
      path: "/mcp",
    });
    expect(http.ok && http.config.upstreams.map((u) => u.prefix)).toEqual([true, true]);
  });

  it("warden gateway --check accepts the shipped examples and rejects a bad config (exit 2)", () => {
    for (const f of ["examples/warden.stdio.yaml", "examples/warden.http.yaml"]) {
      const r = spawnSync(
        process.execPath,
        [CLI, "gateway", "--config", join(ROOT, f), "--check"],
        { encoding: "utf8" },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: true });
    }
    const dir = tempDir();
    writeFileSync(join(dir, "w.yaml"), "policy: ./p.yaml\nupstreams: []\n");
    const bad = spawnSync(
      process.execPath,
      [CLI, "gateway", "--config", join(dir, "w.yaml"), "--check"],
      { encoding: "utf8" },
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^warden gateway --check: 2 problem\(s\):\n/);
    expect(bad.stderr).toMatch(/w\.yaml:2:\d+ upstreams: upstreams must be a non-empty list/);
    expect(bad.stderr).toMatch(/p\.yaml:1:1 policy: cannot read policy: the file does not exist/);
  });
});
