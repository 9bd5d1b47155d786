import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/policy/index.js";
import { judgeTraceAction, type TraceAction } from "../../src/trace/policy/actions.js";

const HOME = "/home/u";
const fixture = (name: string) => `test/fixtures/malwi/${name}`;

function load(name: string) {
  const r = compilePolicy(readFileSync(fixture(name), "utf8"), { file: fixture(name), home: HOME });
  if (!r.ok)
    throw new Error(r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join("\n"));
  return r;
}

const verdict = (policy: ReturnType<typeof load>["policy"], a: TraceAction) =>
  judgeTraceAction(policy, a);

describe("malwi policies: which language a file is in", () => {
  const v = (text: string) => compilePolicy(text, { file: "v.yaml" });
  it("integer version 1 is malwi, the string 1.0 Warden", () => {
    const m = v("version: 1\ncommands:\n  deny: [curl]\n");
    expect(m.ok && m.policy.dialect).toBe("malwi");
    const w = v('version: "1.0"\nstorage: {}\n');
    expect(w.ok && w.policy.dialect).toBe("warden");
    const j = v('{"version": 1, "commands": {"deny": ["curl"]}}');
    expect(j.ok && j.policy.dialect).toBe("malwi");
  });

  it('refuses a version that could be either ("1", 1.0), located, saying what to write', () => {
    for (const text of [
      'description: x\nversion: "1"\n',
      "description: x\nversion: 1.0\n",
      '{"version": 1.0}',
    ]) {
      const r = v(text);
      expect(r.ok, text).toBe(false);
      if (r.ok) continue;
      expect(r.errors[0]).toMatchObject({ code: "policy_version_ambiguous", key: "version" });
      expect(r.errors[0]!.message).toContain('write version: "1.0"');
      if (!text.startsWith("{")) expect(r.errors[0]!.line).toBe(2);
    }
    const two = v("version: 2\n");
    expect(!two.ok && two.errors[0]!.code).toBe("policy_bad_value");
  });

  it("a Warden section in a malwi file is an error that explains the version", () => {
    const r = v("version: 1\nstorage:\n  allow: []\n");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]).toMatchObject({ line: 2, code: "policy_unknown_key", key: "storage" });
    expect(r.errors[0]!.message).toContain("integer version 1");
  });

  it("malwi's own errors are located in the malwi file", () => {
    const r = v(
      'version: 1\nnodejs:\n  deny: ["regex:("]\nfiles:\n  allow:\n    - "/x": [read, chmod]\n',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => `${e.line} ${e.code} ${e.key}`)).toEqual([
      "3 policy_bad_pattern nodejs.deny[0]",
      "6 policy_bad_value files.allow[0]",
    ]);
  });
});

describe("malwi policies: every key maps, or is a located warning", () => {
  const { policy, warnings } = load("full.yaml");

  it("warns, located, about what Warden cannot enforce (symbols, syscalls, regex files, warn on files/env)", () => {
    expect(warnings.map((w) => `${w.line} ${w.code} ${w.key}`)).toEqual([
      "34 policy_approximated files.allow[0]",
      "36 policy_not_enforced files.deny[5]",
      "37 policy_not_enforced files.warn[0]",
      "41 policy_not_enforced envvars.warn[0]",
      "41 policy_not_enforced envvars.warn[1]",
      "43 policy_not_enforced symbols",
      "46 policy_not_enforced syscalls",
    ]);
    expect(policy.warnings).toEqual(warnings);
  });

  it("functions, with argument constraints; rules named by their malwi key and line", () => {
    expect(verdict(policy, { kind: "function", runtime: "nodejs", name: "eval" })).toMatchObject({
      verdict: "block",
      rule: `${fixture("full.yaml")}:6`,
    });
    expect(policy.check({ kind: "nodejs.call", name: "eval" }).ruleId).toBe("nodejs.deny[0]");
    expect(
      verdict(policy, { kind: "function", runtime: "python", name: "subprocess.run" }).verdict,
    ).toBe("warn");
    expect(
      verdict(policy, {
        kind: "function",
        runtime: "python",
        name: "builtins.exec",
        args: ["import socket"],
      }).verdict,
    ).toBe("review");
    expect(
      verdict(policy, { kind: "function", runtime: "python", name: "builtins.exec", args: ["1+1"] })
        .verdict,
    ).toBe("allow");
    // a section with deny rules allows what it does not name (malwi)
    expect(
      verdict(policy, { kind: "function", runtime: "nodejs", name: "fs.readFileSync" }).verdict,
    ).toBe("allow");
  });

  it("commands: most specific wins, review, noop, unlisted allowed", () => {
    const run = (...argv: string[]) =>
      verdict(policy, { kind: "exec", path: `/usr/bin/${argv[0]}`, argv }).verdict;
    expect(run("curl", "-s", "https://x")).toBe("block");
    expect(run("sudo")).toBe("review");
    expect(run("sudo", "ls")).toBe("block");
    expect(run("python3", "-c", "1")).toBe("block");
    expect(run("ls", "-la")).toBe("suppress");
    expect(run("make")).toBe("allow");
  });

  it("network: URL, endpoint and domain patterns, and protocols", () => {
    const http = (url: string) => verdict(policy, { kind: "http", url }).verdict;
    expect(http("https://registry.npmjs.org/left-pad")).toBe("allow");
    expect(http("http://169.254.169.254/latest/meta-data/")).toBe("block");
    expect(http("http://0xa9fea9fe/latest/meta-data/")).toBe("block");
    expect(http("http://metadata.google.internal./computeMetadata/v1/")).toBe("block");
    expect(http("https://evil.example/")).toBe("allow");
    const connect = (host: string, port: number, protocol = "tcp") =>
      verdict(policy, { kind: "connect", host, port, protocol }).verdict;
    expect(connect("github.com", 22)).toBe("block");
    expect(connect("abc.onion", 443)).toBe("warn");
    expect(connect("8.8.8.8", 53, "udp")).toBe("block");
  });

  it("files: ~ expanded, unanchored globs anywhere, operations onto read/write", () => {
    const file = (path: string, op: "read" | "write" | "edit" | "delete") =>
      verdict(policy, { kind: "file", path, op }).verdict;
    expect(file("/home/u/.ssh/id_rsa", "read")).toBe("block");
    expect(file("/home/u/x/../.ssh/config", "read")).toBe("block");
    expect(file("/srv/deep/dir/server.pem", "read")).toBe("block");
    expect(file("/srv/id_rsa_backup/key.txt", "read")).toBe("block");
    expect(file("/app/logs/a.log", "delete")).toBe("allow");
    expect(file("/app/data/a.json", "read")).toBe("allow");
    expect(file("/srv/ok.txt", "write")).toBe("allow");
  });

  it("envvars", () => {
    expect(verdict(policy, { kind: "env", key: "AWS_ACCESS_KEY_ID" }).verdict).toBe("block");
    expect(verdict(policy, { kind: "env", key: "db_password" }).verdict).toBe("block");
    expect(verdict(policy, { kind: "env", key: "HOME" }).verdict).toBe("allow");
  });
});

describe("malwi policies: the older section names", () => {
  const { policy, warnings } = load("legacy.yaml");
  it("node, functions, http, networking.* read as nodejs, symbols, network", () => {
    expect(warnings.map((w) => `${w.code} ${w.key}`)).toEqual(["policy_not_enforced functions"]);
    expect(verdict(policy, { kind: "function", runtime: "nodejs", name: "eval" }).verdict).toBe(
      "block",
    );
    expect(verdict(policy, { kind: "http", url: "https://evil.example/x" }).verdict).toBe("block");
    expect(
      verdict(policy, { kind: "connect", host: "x.onion", port: 443, protocol: "tcp" }).verdict,
    ).toBe("block");
    expect(
      verdict(policy, { kind: "connect", host: "mail.example", port: 25, protocol: "tcp" }).verdict,
    ).toBe("block");
    expect(
      verdict(policy, { kind: "connect", host: "ok.example", port: 53, protocol: "udp" }).verdict,
    ).toBe("block");
    expect(
      verdict(policy, { kind: "connect", host: "ok.example", port: 443, protocol: "tcp" }).verdict,
    ).toBe("allow");
    // envvars as a list: an allowlist
    expect(verdict(policy, { kind: "env", key: "HOME" }).verdict).toBe("allow");
    expect(verdict(policy, { kind: "env", key: "USER" }).verdict).toBe("block");
  });
});

describe("malwi policies: a section with only allow rules is an allowlist", () => {
  const { policy } = load("allowlist.yaml");
  it("commands, network and files deny what they do not name", () => {
    const run = (...argv: string[]) =>
      verdict(policy, { kind: "exec", path: `/usr/bin/${argv[0]}`, argv }).verdict;
    expect(run("node", "x.js")).toBe("allow");
    expect(run("git", "status")).toBe("allow");
    expect(run("git", "push")).toBe("block");
    expect(run("sh", "-c", "x")).toBe("block");
    const http = (url: string) => verdict(policy, { kind: "http", url }).verdict;
    expect(http("https://registry.npmjs.org/x")).toBe("allow");
    expect(http("https://api.github.com/repos/a/b")).toBe("allow");
    expect(http("https://api.github.com/user")).toBe("block");
    expect(http("https://registry.npmjs.org@evil.com/x")).toBe("block");
    expect(http("https://evil.com/registry.npmjs.org/x")).toBe("block");
    const file = (path: string, op: "read" | "write") =>
      verdict(policy, { kind: "file", path, op }).verdict;
    expect(file("/app/x", "read")).toBe("allow");
    expect(file("/app/x", "write")).toBe("block");
    expect(file("/app/../etc/passwd", "read")).toBe("block");
    expect(file("/tmp/x", "write")).toBe("allow");
  });
});
