// warden.yaml nested too deep is refused with a located `too_deep` issue naming the limit,
// before the `yaml` composer (which recurses once per level) runs: 100,000 `[` used to end in
// "Maximum call stack size exceeded", a message that depends on the engine.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";
import { CLI, tempDir } from "./helpers.js";

const BRACKETS = `policy: ./policy.yaml\nupstreams: ${"[".repeat(100_000)}\n`;
const MAPPINGS = `policy: ./policy.yaml\nupstreams:\n  - name: a\n    command: node\n    env: ${"{a: ".repeat(3_000)}1${"}".repeat(3_000)}\n`;
const GUARDS = `policy: ./policy.yaml\nupstreams:\n  - name: a\n    command: node\nsecurity_guards:\n  - type: tool_poisoning\n    config: ${"{a: ".repeat(3_000)}1${"}".repeat(3_000)}\n`;
const GUARDS_SEQ = `policy: ./policy.yaml\nupstreams:\n  - name: a\n    command: node\nsecurity_guards: ${"[".repeat(100_000)}\n`;

function check(config: string): { status: number | null; stderr: string } {
  const dir = tempDir();
  writeFileSync(join(dir, "policy.yaml"), 'version: "1.0"\nmcp:\n  transport: { stdio: true }\n');
  const file = join(dir, "warden.yaml");
  writeFileSync(file, config);
  const r = spawnSync(process.execPath, [CLI, "gateway", "--config", file, "--check"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr };
}

describe("warden.yaml nested too deep", () => {
  it.each([
    ["100,000 [", BRACKETS, 2, "upstreams[0][0][0][0][0]…"],
    ["3,000 nested mappings", MAPPINGS, 5, "upstreams[0].env.a.a.a…"],
    ["3,000 nested mappings in a guard", GUARDS, 7, "security_guards[0].config.a.a.a…"],
    ["100,000 [ as security_guards", GUARDS_SEQ, 5, "security_guards[0][0][0][0][0]…"],
  ])("%s: too_deep at the first line past the limit", (_name, text, line, key) => {
    const r = parseConfig(text, "/cfg/warden.yaml");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ file: "/cfg/warden.yaml", line, code: "too_deep", key });
    expect(r.errors[0]!.message).toMatch(/deeper than 64 levels/);
    expect(r.errors[0]!.message).not.toMatch(/call stack/);
  });

  it.each([
    ["100,000 [", BRACKETS],
    ["3,000 nested mappings", MAPPINGS],
    ["3,000 nested mappings in a guard", GUARDS],
  ])("%s: `warden gateway --check` exits 2 with a located message", (_name, text) => {
    const r = check(text);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/warden\.yaml:\d+:\d+ \S+: nests deeper than 64 levels/);
    expect(r.stderr).not.toMatch(/call stack/);
  });

  it("a normal config still loads, nesting up to the limit included", () => {
    const env = `${"{a: ".repeat(60)}1${"}".repeat(60)}`;
    const r = parseConfig(
      `policy: ./policy.yaml\nupstreams:\n  - name: a\n    command: node\n    args: [x]\n    env: { A: "1" }\n`,
      "/cfg/warden.yaml",
    );
    expect(r.ok).toBe(true);
    // 60 levels is under the limit: refused for its content, not its depth.
    const deep = parseConfig(
      `policy: ./policy.yaml\nupstreams:\n  - name: a\n    command: node\n    env: ${env}\n`,
      "/cfg/warden.yaml",
    );
    expect(deep.ok).toBe(false);
    if (!deep.ok) expect(deep.errors.map((e) => e.code)).not.toContain("too_deep");
  });
});
