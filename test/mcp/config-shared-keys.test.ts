// Keys several features share have one home each: `auth` (tokens), `state: { dir }`,
// `telemetry` (metrics). Their old places still work, with a warning naming the new key, and
// are refused when both places are written and say different things.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { pinsFileOf } from "../../src/guards/builtin/rug-pull.js";
import { parseGuardsYaml } from "../../src/guards/config.js";
import { parseConfig } from "../../src/mcp/config.js";
import { CLI, tempDir } from "./helpers.js";

const BASE = "policy: p.yaml\nupstreams: [{ name: a, command: x }]\n";
const HTTP = "listen: { http: { port: 0 } }\n";

function parse(text: string) {
  return parseConfig(`${BASE}${text}`, "/cfg/warden.yaml");
}
const errors = (text: string) => {
  const r = parse(text);
  return r.ok ? [] : r.errors.map((e) => `${e.code} ${e.key}: ${e.message}`);
};
const warnings = (text: string) => {
  const r = parse(text);
  expect(r.ok, JSON.stringify(r)).toBe(true);
  return r.ok ? (r.config.warnings ?? []).map((w) => `${w.code} ${w.key}: ${w.message}`) : [];
};

describe("auth: the one home of tokens", () => {
  it("reads listen.http.bearer_env as before, with a warning naming auth.tokens", () => {
    const r = parse("listen: { http: { bearer_env: T } }\n");
    expect(r.ok && r.config.auth).toEqual({ tokens: [{ name: "default", env: "T" }] });
    expect(warnings("listen: { http: { bearer_env: T } }\n")).toEqual([
      "deprecated_key listen.http.bearer_env: listen.http.bearer_env is deprecated: write auth: { tokens: [{ name: default, env: T }] } instead.",
    ]);
  });

  it("takes both when auth.tokens names the same variable, refuses them when they differ", () => {
    expect(
      warnings("listen: { http: { bearer_env: T } }\nauth: { tokens: [{ name: ci, env: T }] }\n"),
    ).toEqual([
      "deprecated_key listen.http.bearer_env: listen.http.bearer_env is deprecated and auth.tokens already names its variable: delete it.",
    ]);
    expect(
      errors("listen: { http: { bearer_env: T } }\nauth: { tokens: [{ name: ci, env: U }] }\n"),
    ).toEqual([expect.stringMatching(/^conflicting_keys listen\.http\.bearer_env: /)]);
  });
});

describe("telemetry: the one home of metrics", () => {
  it("serves telemetry.metrics, and reads the old top-level metrics with a warning", () => {
    const now = parse(`${HTTP}telemetry: { metrics: { path: /m } }\n`);
    expect(now.ok && now.config.metrics).toEqual({ path: "/m" });
    expect(now.ok && now.config.warnings).toBeUndefined();
    const old = parse(`${HTTP}metrics: { path: /old }\n`);
    expect(old.ok && old.config.metrics).toEqual({ path: "/old" });
    expect(warnings(`${HTTP}metrics: true\n`)).toEqual([
      "deprecated_key metrics: metrics is deprecated: write it under telemetry (telemetry: { metrics: ... }).",
    ]);
  });

  it("refuses metrics and telemetry.metrics that differ; the same twice is a warning", () => {
    expect(errors(`${HTTP}metrics: { path: /a }\ntelemetry: { metrics: { path: /b } }\n`)).toEqual([
      "conflicting_keys metrics: metrics and telemetry.metrics are both written and differ: keep telemetry.metrics and delete metrics.",
    ]);
    expect(warnings(`${HTTP}metrics: true\ntelemetry: { metrics: { path: /metrics } }\n`)).toEqual([
      "deprecated_key metrics: metrics is deprecated and telemetry.metrics says the same: delete metrics.",
    ]);
  });

  it("still needs an HTTP listener, naming the key written", () => {
    expect(errors("telemetry: { metrics: true }\n")).toEqual([
      "conflicting_keys telemetry.metrics: metrics are served over HTTP: they need listen: { http: ... }.",
    ]);
  });
});

describe("state: the one home of what outlives a run", () => {
  const guards = (state: string, pins = "") =>
    `${state}security_guards:\n  - id: rp\n    type: rug_pull\n${pins ? `    config: { pins_file: ${pins} }\n` : ""}`;

  it("keeps rug_pull's pins in <state.dir>/pins.json, the XDG state directory by default", () => {
    const xdg = tempDir();
    vi.stubEnv("XDG_STATE_HOME", xdg);
    try {
      const d = parse(guards(""));
      expect(d.ok && d.config.state).toEqual({
        dir: join(xdg, "warden"),
        cacheDir: join(xdg, "warden", "cache"),
      });
      expect(d.ok && pinsFileOf(d.config.guards![0]!)).toBe(join(xdg, "warden", "pins.json"));
      // A relative XDG_STATE_HOME is ignored (the XDG spec): it would name a folder of the cwd.
      vi.stubEnv("XDG_STATE_HOME", "rel/state");
      const r = parse(guards(""));
      expect(r.ok && r.config.state?.dir).toBe(join(homedir(), ".local", "state", "warden"));
    } finally {
      vi.unstubAllEnvs();
    }
    const s = parse(guards("state: { dir: /var/lib/warden }\n"));
    expect(s.ok && s.config.state).toEqual({
      dir: "/var/lib/warden",
      cacheDir: "/var/lib/warden/cache",
    });
    expect(s.ok && pinsFileOf(s.config.guards![0]!)).toBe("/var/lib/warden/pins.json");
    // warden pins (the CLI) reads the same place from the same file.
    const cli = parseGuardsYaml(guards("state: { dir: st }\n"), "/cfg/warden.yaml");
    expect(pinsFileOf(cli.guards[0]!)).toBe("/cfg/st/pins.json");
  });

  it("reads rug_pull's pins_file with a warning naming state.dir, and refuses it beside a state.dir that differs", () => {
    const old = parse(guards("", "./keep/pins.json"));
    expect(old.ok && pinsFileOf(old.config.guards![0]!)).toBe("/cfg/keep/pins.json");
    expect(old.ok && old.config.warnings?.map((w) => `${w.code} ${w.key}`)).toEqual([
      "deprecated_key security_guards[0].config.pins_file",
    ]);
    expect(old.ok && old.config.warnings?.[0]?.message).toContain('state: { dir: "./keep" }');
    expect(errors(guards("state: { dir: /s }\n", "./keep/pins.json"))).toEqual([
      expect.stringMatching(
        /^guard_config_invalid security_guards\[0\]\.config\.pins_file: config\.pins_file \(\/cfg\/keep\/pins\.json\) and state\.dir/,
      ),
    ]);
  });

  it("accepts state.redis (test/state/redis-connection.test.ts), refuses unknown state keys with a did you mean", () => {
    expect(errors("state: { redis: { url_env: R } }\n")).toEqual([]);
    expect(errors("state: { dri: x }\n")).toEqual([
      'unknown_key state.dri: unknown key "dri" in state (did you mean "dir"?); known keys: dir, sessions, redis.',
    ]);
  });
});

describe("warden gateway --check", () => {
  it("prints each deprecated key as a warning on stderr and still passes", () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "p.yaml"),
      'version: "1.0"\nmcp: { transport: { stdio: true, http: true } }\n',
    );
    writeFileSync(
      join(dir, "w.yaml"),
      `policy: ./p.yaml\nlisten: { http: { port: 0, bearer_env: T } }\nmetrics: true\nupstreams: [{ name: a, command: ${process.execPath} }]\n`,
    );
    const r = spawnSync(
      process.execPath,
      [CLI, "gateway", "--config", join(dir, "w.yaml"), "--check"],
      {
        encoding: "utf8",
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("warden: warning: ");
    expect(r.stderr).toMatch(
      /w\.yaml:2:\d+ listen\.http\.bearer_env: listen\.http\.bearer_env is deprecated/,
    );
    expect(r.stderr).toMatch(/w\.yaml:3:1 metrics: metrics is deprecated/);
  });
});
