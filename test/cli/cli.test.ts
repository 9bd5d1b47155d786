import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { warden } from "./helpers.js";

describe("warden CLI", () => {
  it("--version prints the package version", () => {
    const r = warden(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync("package.json", "utf8")).version);
  });

  it("--help lists the commands and the exit codes", () => {
    const r = warden(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("demo");
    expect(r.stdout).toContain("Exit codes: 0 ok, 1 denied or blocked, 2 bad usage");
  });

  it("bare `warden` (and a command group without its subcommand) prints help and exits 2", () => {
    for (const args of [[], ["policy"], ["pins"]]) {
      const r = warden(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain("Usage: warden");
    }
  });

  it("with --json, a usage error is one JSON document on stdout too", () => {
    const r = warden(["policy", "check", "--json", "--no-such-option", "x.yaml"]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: { code: "usage", message: "unknown option '--no-such-option'" },
    });
  });

  it("bad usage exits 2 with one line on stderr naming the code", () => {
    for (const args of [["no-such-command"], ["demo", "--no-such-option"]]) {
      const r = warden(args);
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^warden: usage: /);
    }
  });
});

describe("errors: one problem per line", () => {
  it("a warden.yaml with several problems lists each on its own line", () => {
    const dir = mkdtempSync(join(tmpdir(), "warden-cli-"));
    const file = join(dir, "warden.yaml");
    writeFileSync(file, "listen: stdio\nupstreams:\n  - name: a\n    comand: x\nfoo: 1\n");
    const r = warden(["gateway", "--config", file]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toBe(`warden: config_invalid: 4 problem(s) in ${file}:`);
    expect(lines.slice(1).map((l) => l.trim().split(" ")[0])).toEqual([
      `${file}:1:1`,
      `${file}:3:5`,
      `${file}:4:5`,
      `${file}:5:1`,
    ]);
  });
});

describe("warden demo: the core chain", () => {
  it("judges calls with a firewall and statistics and prints each decision with its rule", () => {
    const r = warden(["demo", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      core: {
        decisions: { call: string; verdict: string; rule: string }[];
        statistics: { total_calls: number };
      };
    };
    const byCall = Object.fromEntries(out.core.decisions.map((d) => [d.call, d]));
    expect(byCall["agent -> files.read_file"]).toMatchObject({
      verdict: "allow",
      rule: "agent-may-read",
    });
    expect(byCall["agent -> files.write_file"]).toMatchObject({
      verdict: "block",
      rule: "default",
    });
    expect(byCall["admin -> files.delete_file"]).toMatchObject({
      verdict: "block",
      rule: "nobody-deletes",
    });
    expect(out.core.statistics.total_calls).toBe(3);
  });
});
