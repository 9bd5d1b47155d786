// A second upstream renames every tool (prefix defaults to true with several upstreams), so a
// rule written for one server's own names matches nothing: `warden gateway --check` (and the
// gateway at start) warns, naming the rule (file:line:col, key) and the prefixed name to write.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";
import { prefixWarnings } from "../../src/mcp/prefix-check.js";
import { CLI, ROOT, tempDir } from "./helpers.js";

const POLICY = `version: "1.0"
mcp:
  transport: { stdio: true }
  tools:
    allow:
      - name: read_file
      - "files__list_*"
      - "search_*"
      - "{files,search}__get_*"
      - "*"
    deny:
      - write_file
  prompts:
    allow: [summarize]
  resources:
    allow:
      - uri: "file:///data/**"
      - uri: "files+file:///pub/**"
`;

const up = (name: string, extra = "") =>
  `  - { name: ${name}, command: ${JSON.stringify(process.execPath)}${extra} }\n`;

function check(upstreams: string) {
  const dir = tempDir();
  writeFileSync(join(dir, "policy.yaml"), POLICY);
  writeFileSync(join(dir, "warden.yaml"), `policy: ./policy.yaml\nupstreams:\n${upstreams}`);
  const r = spawnSync(process.execPath, [CLI, "gateway", "--check", "--config", "warden.yaml"], {
    cwd: dir,
    encoding: "utf8",
  });
  return { dir, code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("warden gateway --check: rules a prefix renamed away", () => {
  it("warns on each rule that names no prefixed tool, prompt or resource, with the name to write", () => {
    const r = check(up("files") + up("search"));
    expect(r.code, r.stderr).toBe(0);
    const policy = join(r.dir, "policy.yaml");
    const lines = r.stderr.trim().split("\n");
    expect(lines.map((l) => l.replace(/: ".*/, ""))).toEqual([
      `warden: warning: ${policy}:6:15 mcp.tools.allow[0].name`,
      `warden: warning: ${policy}:12:9 mcp.tools.deny[0]`,
      `warden: warning: ${policy}:14:13 mcp.prompts.allow[0]`,
      `warden: warning: ${policy}:17:14 mcp.resources.allow[0].uri`,
    ]);
    expect(lines[0]).toContain(
      `"read_file" names no tool the client sees: with 2 upstreams their names are prefixed (prefix defaults to true with several)`,
    );
    expect(lines[0]).toContain(`Write "files__read_file" or "search__read_file"`);
    expect(lines[1]).toContain("(it denies nothing)");
    expect(lines[3]).toContain(`Write "files+file:///data/**" or "search+file:///data/**"`);
    expect(JSON.parse(r.stdout).warnings).toHaveLength(4);
  });

  it("says nothing when names are not prefixed, or some upstream keeps its own names", () => {
    for (const ups of [up("files"), up("files") + up("search", ", prefix: false")]) {
      const r = check(ups);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe("");
      expect(JSON.parse(r.stdout).warnings).toBeUndefined();
    }
    // One upstream with prefix: true is renamed too.
    const one = check(up("files", ", prefix: true"));
    expect(one.stderr).toContain(`upstream "files" has prefix: true`);
    expect(one.stderr).toContain(`Write "files__read_file" (the upstream it belongs to)`);
  });

  it("the shipped examples name their tools with their prefixes", () => {
    for (const f of ["examples/warden.stdio.yaml", "examples/warden.http.yaml"]) {
      const file = join(ROOT, f);
      const c = parseConfig(readFileSync(file, "utf8"), file);
      expect(c.ok && prefixWarnings(c.config)).toEqual([]);
    }
  });
});
