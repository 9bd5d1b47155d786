// `CompiledPolicy.rules` lists every rule with its key path and `file:line`: what a decision's
// `ruleId` can name, so `warden policy test --coverage` can say which rules no case reached.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/policy/index.js";

const file = "examples/policies/mcp-gateway.yaml";

function compiled() {
  const r = compilePolicy(readFileSync(file, "utf8"), { file });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

describe("CompiledPolicy.rules", () => {
  it("lists every rule of the file, each once, with its key path, line and effect", () => {
    const p = compiled();
    const ids = p.rules.map((r) => r.id).sort();
    expect(ids).toEqual(
      [
        "mcp.tools.allow[0]",
        "mcp.tools.allow[1]",
        "mcp.tools.allow[2]",
        "mcp.tools.allow[3]",
        "mcp.tools.deny[0]",
        "mcp.tools.deny[1]",
        "mcp.prompts.allow[0]",
        "mcp.prompts.allow[1]",
        "mcp.prompts.deny[0]",
        "mcp.resources.allow[0]",
        "mcp.resources.allow[1]",
        "mcp.resources.deny[0]",
        "mcp.transport.stdio",
        "mcp.transport.http",
        "mcp.transport.http.allowed_hosts[0]",
        "mcp.transport.http.allowed_hosts[1]",
        "network.allow[0]",
        "network.deny[0]",
      ].sort(),
    );
    const deny = p.rules.find((r) => r.id === "mcp.tools.deny[1]")!;
    const line =
      readFileSync(file, "utf8")
        .split("\n")
        .findIndex((l) => l.includes('- name: "git_push"')) + 1;
    expect(deny).toMatchObject({ where: `${file}:${line}`, effect: "deny" });
    expect(Object.isFrozen(p.rules)).toBe(true);
  });

  it("names the rules that decisions name", () => {
    const p = compiled();
    const ids = new Set(p.rules.map((r) => r.id));
    const decisions = [
      p.check({ kind: "tool.call", name: "calculator/add" }),
      p.check({ kind: "tool.call", name: "git_push", arguments: { repo: "a/b" } }),
      p.check({ kind: "transport.connect", transport: "http", host: "x.anthropic.com" }),
      p.check({ kind: "network.connect", host: "169.254.169.254", port: 80 }),
      p.check({ kind: "tool.call", name: "file_reader", arguments: { path: "/etc/passwd" } }),
    ];
    for (const d of decisions) expect(ids.has(d.ruleId!), `${d.ruleId}`).toBe(true);
    expect(p.rules.find((r) => r.id === decisions[0]!.ruleId)!.where).toBe(decisions[0]!.rule);
  });

  it("is empty for a policy without rules", () => {
    const r = compilePolicy('version: "1.0"\npermissions: {}\n');
    expect(r.ok && r.policy.rules).toEqual([]);
  });
});
