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
      "7:5 upstreams[1].command missing_key",
      "8:5 upstreams[1].commandd unknown_key",
    ]);
  });

  it("names the key, says what to write, and suggests the closest key or value", () => {
    const text = [
      "policy: ./p.yaml", // 1
      "upstream:", // 2
      "  - { name: a, command: b }", // 3
      "caller_includes_client_name: yes", // 4
      "metrics: { paht: /m }", // 5
      "listen: { http: { sessions: 3 } }", // 6
      "audit: { file: a.jsonl, arguments: ful }", // 7
    ].join("\n");
    const r = parseConfig(text, "/cfg/warden.yaml");
    const lines = r.ok
      ? []
      : r.errors.map((e) => `${e.line}:${e.col} ${e.key} ${e.code}: ${e.message}`);
    expect(lines).toEqual([
      '1:1 upstreams missing_key: warden.yaml needs the key "upstreams" (the MCP servers behind the gateway).',
      '2:1 upstream unknown_key: unknown key "upstream" in warden.yaml (did you mean "upstreams"?); known keys: listen, auth, state, policy, rules, caller, caller_includes_client_name, audit, telemetry, metrics, restart, limits, upstreams, admin, wasm, security_guards.',
      '4:30 caller_includes_client_name invalid_value: caller_includes_client_name must be true or false, not a string ("yes").',
      '5:12 metrics.paht unknown_key: unknown key "paht" in metrics (did you mean "path"?); known keys: path.',
      '6:19 listen.http.sessions unknown_key: unknown key "sessions" in listen.http; known keys: host, port, path, allowed_hosts, allowed_origins, bearer_env, session_idle_seconds, json_response, max_body_bytes, max_header_bytes, headers_timeout_seconds, request_timeout_seconds, keep_alive_seconds, tls, allow_insecure, max_sessions, max_sessions_per_token, max_connections, max_connections_per_address.',
      '7:36 audit.arguments invalid_value: audit.arguments must be "redacted" (default), "full" or "omit", not "ful" (did you mean "full"?).',
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
