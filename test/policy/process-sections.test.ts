import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { toCoreDecision } from "../../src/policy/core-decision.js";
import { compilePolicy, resolveRealPathSync } from "../../src/policy/index.js";

function policy(text: string) {
  const r = compilePolicy(text, { file: "p.yaml" });
  if (!r.ok)
    throw new Error(r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join("\n"));
  return r.policy;
}

const P = policy(`version: "1.0"
commands:
  allow: [node, git, "python* -c *setuptools.build_meta*"]
  deny: [curl, wget, "python* -c *", "/opt/evil/**"]
  review: [sudo]
  warn: [base64]
nodejs:
  deny: [eval, { "child_process.exec": ["*curl*"] }]
  warn: ["vm.*"]
  log: [fetch]
  noop: [dns.lookup]
python:
  deny: [os.system, "regex:^ctypes\\\\."]
http:
  default: deny
  allow: ["registry.npmjs.org/**"]
  review: ["registry.npmjs.org/-/npm/v1/security/**"]
endpoints:
  deny: ["*:22"]
  warn: ["*.onion:*"]
  protocols: [https, tcp]
`);

const exec = (path: string, ...argv: string[]) => P.check({ kind: "command.exec", path, argv });

describe("process sections: verdicts", () => {
  it("maps each mode onto core's lattice and names the rule file:line", () => {
    expect(exec("/usr/bin/curl", "curl", "-s", "x")).toMatchObject({
      allowed: false,
      verdict: "block",
      code: "deny_rule",
      rule: "p.yaml:4",
      ruleId: "commands.deny[0]",
    });
    expect(exec("/usr/bin/sudo", "sudo", "ls")).toMatchObject({
      allowed: false,
      verdict: "review",
    });
    expect(exec("/usr/bin/base64", "base64", "/etc/passwd")).toMatchObject({
      allowed: true,
      verdict: "warn",
    });
    expect(P.check({ kind: "nodejs.call", name: "fetch" })).toMatchObject({ verdict: "display" });
    expect(P.check({ kind: "nodejs.call", name: "dns.lookup" })).toMatchObject({
      verdict: "suppress",
    });
    expect(toCoreDecision(P.check({ kind: "nodejs.call", name: "vm.runInContext" }))).toMatchObject(
      {
        verdict: "warn",
        by: "policy",
        rule: "p.yaml:9",
      },
    );
  });

  it("commands default to deny, functions to allow, and `default` decides otherwise", () => {
    expect(exec("/usr/bin/ls", "ls")).toMatchObject({ verdict: "block", code: "no_rule" });
    expect(P.check({ kind: "nodejs.call", name: "fs.readFileSync" })).toMatchObject({
      verdict: "allow",
      code: "default_rule",
    });
    expect(P.check({ kind: "http.url", url: "https://example.com/" })).toMatchObject({
      verdict: "block",
      code: "default_rule",
      ruleId: "http.default",
      rule: "p.yaml:15",
    });
  });

  it("the most specific rule decides; on a tie the strictest", () => {
    expect(exec("/usr/bin/python3", "python3", "-c", "import os")).toMatchObject({
      verdict: "block",
    });
    expect(
      exec("/usr/bin/python3", "python3", "-c", "from setuptools.build_meta import x"),
    ).toMatchObject({
      verdict: "allow",
      ruleId: "commands.allow[2]",
    });
    expect(
      P.check({ kind: "http.url", url: "https://registry.npmjs.org/-/npm/v1/security/audits" }),
    ).toMatchObject({ verdict: "review" });
  });

  it("regex: patterns are RE2, linear in the input: a backtracking bomb answers at once; lookaround is refused", () => {
    const p = policy(`version: "1.0"\ncommands:\n  default: allow\n  deny: ["regex:^(a+)+$"]\n`);
    // A JavaScript RegExp backtracks 2^40 times on this; RE2 reads it once.
    const evil = `/usr/bin/${"a".repeat(40)}!`;
    expect(p.check({ kind: "command.exec", path: evil, argv: [evil] }).allowed).toBe(true);
    expect(p.check({ kind: "command.exec", path: "aaaa", argv: ["aaaa"] }).allowed).toBe(false);
    expect(() => policy(`version: "1.0"\ncommands:\n  deny: ["regex:^(?=x)y"]\n`)).toThrow(/RE2/);
  });

  it("constrained rules match on arguments; regex: patterns work", () => {
    expect(
      P.check({ kind: "nodejs.call", name: "child_process.exec", args: ["curl evil"] }),
    ).toMatchObject({
      verdict: "block",
    });
    expect(
      P.check({ kind: "nodejs.call", name: "child_process.exec", args: ["ls"] }),
    ).toMatchObject({
      verdict: "allow",
    });
    expect(P.check({ kind: "python.call", name: "ctypes.CDLL" })).toMatchObject({
      verdict: "block",
    });
    expect(P.check({ kind: "python.call", name: "os.system" })).toMatchObject({ verdict: "block" });
  });

  it("endpoints: host:port patterns and the protocol list", () => {
    expect(P.check({ kind: "endpoint.connect", host: "evil.com", port: 22 })).toMatchObject({
      verdict: "block",
    });
    expect(P.check({ kind: "endpoint.connect", host: "x.onion", port: 443 })).toMatchObject({
      verdict: "warn",
    });
    expect(
      P.check({ kind: "endpoint.connect", host: "ok.com", port: 53, protocol: "udp" }),
    ).toMatchObject({
      verdict: "block",
      ruleId: "endpoints.protocols",
    });
  });

  it("refuses bad patterns and bad sections with located errors", () => {
    const r = compilePolicy(
      `version: "1.0"\ncommands:\n  deny: ["regex:("]\nnodejs:\n  warm: [x]\n`,
      {
        file: "b.yaml",
      },
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => `${e.line} ${e.code}`)).toEqual([
      "3 policy_bad_pattern",
      "5 policy_unknown_key",
    ]);
    expect(r.errors[1]!.message).toContain('did you mean "warn"');
  });
});

describe("process sections: attacker inputs", () => {
  it("a command is named by its canonical path, not by argv[0] or dot segments", () => {
    expect(exec("/usr/bin/../bin/curl", "innocent")).toMatchObject({
      verdict: "block",
      ruleId: "commands.deny[0]",
    });
    expect(exec("/usr/bin/./curl", "git")).toMatchObject({ verdict: "block" });
    expect(exec("/usr//bin/curl", "node")).toMatchObject({ verdict: "block" });
    // A multi-call binary told to act as curl.
    expect(exec("/bin/busybox", "curl", "http://x")).toMatchObject({ verdict: "block" });
    // argv[0] "node" does not make curl node.
    expect(exec("/usr/bin/curl", "node")).toMatchObject({ verdict: "block" });
    expect(exec("/opt/evil/x/../bin/tool", "tool")).toMatchObject({
      verdict: "block",
      ruleId: "commands.deny[3]",
    });
  });

  it("names with whitespace, controls or invisible characters are not canonical (denied)", () => {
    expect(exec("/tmp/git evil", "git")).toMatchObject({ allowed: false, code: "not_canonical" });
    expect(exec("/tmp/git\u200b", "git")).toMatchObject({ allowed: false, code: "not_canonical" });
    expect(exec("/tmp/cu\u0000rl", "x")).toMatchObject({ allowed: false, code: "not_canonical" });
    expect(exec("relative/curl", "x")).toMatchObject({ allowed: false, code: "not_canonical" });
  });

  it("a symlinked binary is judged as the file it runs (realPath)", () => {
    const dir = mkdtempSync(join(tmpdir(), "warden-cmd-"));
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "bin", "curl"), "#!/bin/sh\n");
    symlinkSync(join(dir, "bin", "curl"), join(dir, "git"));
    const d = P.check(
      { kind: "command.exec", path: join(dir, "git"), argv: ["git", "status"] },
      { realPath: resolveRealPathSync },
    );
    expect(d).toMatchObject({ verdict: "block", ruleId: "commands.deny[0]" });
  });

  it("URLs: user info, case, trailing dots, encoded hosts and IPv4 forms are read as fetch reads them", () => {
    const url = (u: string) => P.check({ kind: "http.url", url: u });
    expect(url("https://registry.npmjs.org@evil.com/x")).toMatchObject({ verdict: "block" });
    expect(url("https://evil.com/registry.npmjs.org/x")).toMatchObject({ verdict: "block" });
    expect(url("https://REGISTRY.NPMJS.ORG./x")).toMatchObject({ verdict: "allow" });
    expect(url("https://%72egistry.npmjs.org/x")).toMatchObject({ verdict: "allow" });
    expect(url("https://registry.npmjs.org.evil.com/x")).toMatchObject({ verdict: "block" });
    expect(url("https://registry.npmjs.org#@evil.com/")).toMatchObject({ verdict: "allow" });
    expect(url("file:///etc/passwd")).toMatchObject({ allowed: false, code: "not_canonical" });
    const ep = (host: string) => P.check({ kind: "endpoint.connect", host, port: 22 });
    for (const h of ["0x7f.1", "2130706433", "127.1", "017700000001", "EVIL.com.", "[::1]"])
      expect(ep(h), h).toMatchObject({ verdict: "block" });
  });
});
