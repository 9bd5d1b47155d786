import { describe, expect, it } from "vitest";
import { makeCall } from "../../src/core/call.js";
import { Chain } from "../../src/core/chain.js";
import { WardenError } from "../../src/core/errors.js";
import { FirewallBuilder } from "../../src/core/strategies/firewall.js";

const judge = (fw: ReturnType<FirewallBuilder["build"]>, s: string, t: string, f: string) =>
  new Chain("t", [fw]).before(makeCall(s, t, f));

describe("firewall strategy", () => {
  it("deny by default: only explicitly allowed calls pass, and the refusal says what to add", () => {
    const fw = new FirewallBuilder(false)
      .allowFunction("component_a", "component_b", "allowed_function")
      .build();
    expect(judge(fw, "component_a", "component_b", "allowed_function").verdict).toBe("allow");
    const d = judge(fw, "component_a", "component_b", "other");
    expect(d).toMatchObject({ verdict: "block", by: "firewall", rule: "default" });
    expect(d.reason).toContain("add an allowFunction or allowSource rule");
    expect(judge(fw, "component_c", "component_b", "allowed_function").verdict).toBe("block");
  });

  it("allow by default: everything passes except explicit denies", () => {
    const fw = new FirewallBuilder(true)
      .denyFunction("*", "sensitive_component", "dangerous_function")
      .build();
    expect(judge(fw, "x", "sensitive_component", "safe").verdict).toBe("allow");
    expect(judge(fw, "x", "sensitive_component", "dangerous_function")).toMatchObject({
      verdict: "block",
      rule: "deny#1",
    });
  });

  it("allowSource allows every function of the target for that source only", () => {
    const fw = new FirewallBuilder(false).allowSource("trusted_component", "component_b").build();
    expect(judge(fw, "trusted_component", "component_b", "anything").verdict).toBe("allow");
    expect(judge(fw, "trusted_component", "component_c", "anything").verdict).toBe("block");
    expect(judge(fw, "untrusted", "component_b", "anything").verdict).toBe("block");
  });

  it("explicit deny beats allow, whatever order the rules were added in", () => {
    const denyFirst = new FirewallBuilder(false)
      .denyFunction("agent", "files", "delete")
      .allowSource("agent", "files")
      .build();
    const allowFirst = new FirewallBuilder(false)
      .allowSource("agent", "files")
      .allowFunction("agent", "files", "delete")
      .denyFunction("agent", "files", "delete")
      .build();
    for (const fw of [denyFirst, allowFirst]) {
      expect(judge(fw, "agent", "files", "delete").verdict).toBe("block");
      expect(judge(fw, "agent", "files", "read").verdict).toBe("allow");
    }
  });

  it("supports glob patterns in source, target and function", () => {
    const fw = new FirewallBuilder(false)
      .allowFunction("agent-*", "files", "read_*")
      .allowFunction("*", "search", "query")
      .denyFunction("agent-untrusted", "*", "*")
      .build();
    expect(judge(fw, "agent-1", "files", "read_file").verdict).toBe("allow");
    expect(judge(fw, "agent-1", "files", "write_file").verdict).toBe("block");
    expect(judge(fw, "anyone", "search", "query").verdict).toBe("allow");
    expect(judge(fw, "agent-untrusted", "files", "read_file").verdict).toBe("block");
    // `*` matches dots and slashes in names too
    const tools = new FirewallBuilder(false).allowFunction("*", "mcp", "tools/*").build();
    expect(judge(tools, "c", "mcp", "tools/call").verdict).toBe("allow");
    expect(judge(tools, "c", "mcp", "resources/read").verdict).toBe("block");
  });

  it("explains any triple with the rule that decides it, and gives the same answer from its memo", () => {
    const fw = new FirewallBuilder(false).allowFunction("a", "b", "f", "read-ok").build();
    expect(fw.explain("a", "b", "f")).toMatchObject({ verdict: "allow", rule: "read-ok" });
    for (let i = 0; i < 3; i++) expect(judge(fw, "a", "b", "g").verdict).toBe("block");
    expect(fw.rules).toHaveLength(1);
    expect(Object.isFrozen(fw.rules[0])).toBe(true);
  });

  it("refuses empty names and malformed arguments when the rule is added", () => {
    expect(() => new FirewallBuilder(false).allowFunction("", "b", "f")).toThrow(WardenError);
    expect(() => new FirewallBuilder(false).denyFunction("a", "b", 3 as never)).toThrow(
      /function must be a non-empty name/,
    );
    expect(() => new FirewallBuilder("no" as never)).toThrow(/pass true/);
  });

  it("keeps deciding correctly past its memo limit (many distinct hostile names)", () => {
    const fw = new FirewallBuilder(false).allowFunction("a", "b", "ok").build();
    const chain = new Chain("t", [fw]);
    for (let i = 0; i < 10_050; i++) chain.before(makeCall("a", "b", `junk${i}`));
    expect(chain.before(makeCall("a", "b", "ok")).verdict).toBe("allow");
    expect(chain.before(makeCall("a", "b", "junk-new")).verdict).toBe("block");
  });
});
