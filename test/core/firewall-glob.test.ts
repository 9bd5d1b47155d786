/**
 * The firewall reads globs in the policy's name dialect (src/core/glob.ts, shared): a pattern
 * means the same to the core firewall as to an `mcp.tools` rule. On main the firewall used
 * picomatch's bash dialect, where `!(x)`, `@(a|b)`, `+(a)` are extglobs and `\` escapes: a deny
 * written `!(read_file)` denied every function but read_file, while the policy reads it as the
 * literal name; and `\*` was a literal star to one and a backslash then anything to the other.
 */
import { describe, expect, it } from "vitest";
import { compileNameGlob } from "../../src/core/glob.js";
import { FirewallBuilder } from "../../src/core/strategies/firewall.js";

const PATTERNS = [
  "read_*",
  "*_file",
  "a?c",
  "[!x]*",
  "{read,write}_file",
  "!(read_file)",
  "@(rm|del)",
  "+(a)",
  "files.*",
  "a/*",
  "rm\\*",
];
const NAMES = [
  "read_file",
  "write_file",
  "abc",
  "xyz",
  "!(read_file)",
  "rm",
  "del",
  "@(rm|del)",
  "a",
  "aa",
  "+(a)",
  "files.delete",
  "a/b/c",
  "rm\\x",
  "rm*",
  "delete_all",
];

describe("the firewall's glob dialect is the policy's", () => {
  it("matches exactly what the policy's name globs match, pattern by pattern", () => {
    for (const pattern of PATTERNS) {
      const fw = new FirewallBuilder(true).denyFunction("*", "*", pattern).build();
      const policy = compileNameGlob(pattern);
      for (const name of NAMES)
        expect(
          fw.explain("agent", "files", name).verdict === "block",
          `pattern ${pattern} on ${name}`,
        ).toBe(policy(name));
    }
  });

  it("a deny written !(read_file) denies that literal name only, not everything but read_file", () => {
    const fw = new FirewallBuilder(true).denyFunction("*", "files", "!(read_file)").build();
    expect(fw.explain("agent", "files", "delete_all").verdict).toBe("allow");
    expect(fw.explain("agent", "files", "!(read_file)").verdict).toBe("block");
  });

  it("refuses a malformed glob when the rule is added, saying the dialect", () => {
    expect(() => new FirewallBuilder(false).allowFunction("a", "b", "read_[abc")).toThrowError(
      /not a valid glob \(unclosed "\[".*\* \? \[abc\] \[!abc\] \{a,b\}/,
    );
  });
});
