// State (pins, the default audit file, caches) lives under one directory: warden.yaml's
// state.dir, default the XDG state directory; never the package or the current directory.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { defaultStateDir } from "../../src/core/state-dir.js";
import { parseConfig } from "../../src/mcp/config.js";
import { CLI, tempDir } from "./helpers.js";

const BASE = "policy: p.yaml\nupstreams: [{ name: a, command: x }]\n";

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("the state directory", () => {
  it("is $XDG_STATE_HOME/warden, else ~/.local/state/warden", () => {
    expect(defaultStateDir({ XDG_STATE_HOME: "/x/state" })).toBe("/x/state/warden");
    expect(defaultStateDir({})).toMatch(/\/\.local\/state\/warden$/);
    expect(defaultStateDir({ XDG_STATE_HOME: "relative" })).toMatch(/\/\.local\/state\/warden$/);
  });

  it("audit: true (or audit without file) writes <state.dir>/audit.jsonl; a written file stays where it says", () => {
    const xdg = tempDir();
    vi.stubEnv("XDG_STATE_HOME", xdg);
    const file = (text: string) => {
      const r = parseConfig(`${BASE}${text}`, "/cfg/warden.yaml");
      expect(r.ok, JSON.stringify(r)).toBe(true);
      return r.ok ? r.config.audit?.file : undefined;
    };
    expect(file("audit: true\n")).toBe(join(xdg, "warden", "audit.jsonl"));
    expect(file("audit: { arguments: full }\n")).toBe(join(xdg, "warden", "audit.jsonl"));
    expect(file("audit: true\nstate: { dir: ./st }\n")).toBe("/cfg/st/audit.jsonl");
    expect(file("audit: { file: ./a.jsonl }\n")).toBe("/cfg/a.jsonl");
    expect(file("audit: false\n")).toBeUndefined();
    expect(file("")).toBeUndefined();
  });

  it("warns when pins sit at the old default (.warden beside warden.yaml) and state.dir is not written", () => {
    const dir = tempDir();
    vi.stubEnv("XDG_STATE_HOME", tempDir());
    const file = join(dir, "warden.yaml");
    const parse = (text: string) => {
      const r = parseConfig(`${BASE}${text}`, file);
      expect(r.ok, JSON.stringify(r)).toBe(true);
      return r.ok ? (r.config.warnings ?? []).map((w) => `${w.code} ${w.key}: ${w.message}`) : [];
    };
    expect(parse("")).toEqual([]);
    mkdirSync(join(dir, ".warden"));
    writeFileSync(join(dir, ".warden", "pins.json"), "{}");
    expect(parse("")).toEqual([
      expect.stringMatching(
        /^deprecated_key state: rug_pull pins are in .*\/\.warden\/pins\.json, the old default state directory; .*Write state: \{ dir: \.\/\.warden \}/,
      ),
    ]);
    expect(parse("state: { dir: ./.warden }\n")).toEqual([]);
  });

  it("warden guard test rug_pull pins under the state directory, not in the current directory", () => {
    // On main it wrote ./.warden/pins.json into whatever directory it was run from.
    const cwd = tempDir();
    const xdg = tempDir();
    const tools = JSON.stringify([{ name: "add", description: "Adds.", inputSchema: {} }]);
    const r = spawnSync(
      process.execPath,
      [CLI, "guard", "test", "rug_pull", "--phase", "tools_list", "--input", tools],
      { cwd, encoding: "utf8", env: { ...process.env, XDG_STATE_HOME: xdg } },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(cwd)).toEqual([]);
    const pins = JSON.parse(readFileSync(join(xdg, "warden", "pins.json"), "utf8"));
    expect(Object.keys(pins.servers.test)).toEqual(["add"]);
    expect(existsSync(join(cwd, ".warden"))).toBe(false);
  });
});
