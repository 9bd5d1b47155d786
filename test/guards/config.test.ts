import { describe, expect, it } from "vitest";
import { LineCounter, parseDocument } from "yaml";
import { formatGuardIssues, parseGuardsConfig, parseGuardsYaml } from "../../src/guards/config.js";

const GOOD = `listen: stdio
security_guards:
  - id: poison
    type: tool_poisoning
    priority: 10
  - id: js
    type: wasm
    module_path: guards/pattern.wasm
    failure_mode: fail_open
    timeout_ms: 50
    runs_on: [tools_list, tool_invoke]
    config:
      patterns: ["delete"]
    limits:
      max_memory_bytes: 33554432
      max_fuel: 5000000
  - id: off
    type: pii
    enabled: false
`;

describe("security_guards config", () => {
  it("validates once, sorts by priority, fills defaults, resolves module_path", () => {
    const r = parseGuardsYaml(GOOD, "/srv/warden/warden.yaml");
    expect(r.issues).toEqual([]);
    expect(r.guards.map((g) => g.id)).toEqual(["poison", "js", "off"]);
    const [poison, js, off] = r.guards;
    expect(poison).toMatchObject({
      failureMode: "fail_closed",
      timeoutMs: 100,
      runsOn: ["tools_list"],
      enabled: true,
    });
    expect(js).toMatchObject({
      modulePath: "/srv/warden/guards/pattern.wasm",
      failureMode: "fail_open",
      timeoutMs: 50,
      runsOn: ["tools_list", "tool_invoke"],
      config: { patterns: ["delete"] },
      limits: { maxMemoryBytes: 33554432, maxFuel: 5000000, maxExecutionTimeMs: undefined },
      source: { file: "/srv/warden/warden.yaml", line: 6 },
    });
    expect(off).toMatchObject({ enabled: false, runsOn: ["request", "response", "tool_invoke"] });
    expect(Object.isFrozen(js)).toBe(true);
    expect(Object.isFrozen(js!.config)).toBe(true);
  });

  it("reports every problem with file, line, column and key", () => {
    const bad = `security_guards:
  - id: a
    type: nope
  - id: a
    type: pii
    failure_mode: fail_sometimes
    runs_on: [tools_list]
    colour: red
  - type: wasm
    timeout_ms: 0
  - id: b
    type: tool_poisoning
    module_path: x.wasm
    config: { action: explode }
    limits: { max_memory_bytes: 10, max_cpu: 3 }
`;
    const r = parseGuardsYaml(bad, "warden.yaml");
    const lines = formatGuardIssues(r.issues).split("\n");
    expect(lines).toEqual([
      'warden.yaml:3:11 security_guards[0].type: type must be wasm or a built-in: tool_poisoning, rug_pull, tool_shadowing, server_whitelist, pii, not "nope".',
      'warden.yaml:6:19 security_guards[1].failure_mode: failure_mode must be fail_closed (the default) or fail_open, not "fail_sometimes".',
      "warden.yaml:7:15 security_guards[1].runs_on[0]: this guard type does not judge tools_list; it judges: request, response, tool_invoke.",
      'warden.yaml:8:5 security_guards[1].colour: unknown key "colour" in security_guards[1] (a guard entry); known keys: id, type, enabled, priority, failure_mode, timeout_ms, runs_on, module_path, config, limits.',
      'warden.yaml:9:5 security_guards[2].id: security_guards[2] (a guard entry) needs the key "id" (the guard\'s name in decisions and the audit: 1 to 128 of [A-Za-z0-9._-], unique).',
      "warden.yaml:9:5 security_guards[2].module_path: a wasm guard needs module_path: the .wasm file to load.",
      "warden.yaml:10:17 security_guards[2].timeout_ms: security_guards[2].timeout_ms must be a whole number from 1 to 30000, not 0.",
      "warden.yaml:13:18 security_guards[3].module_path: module_path is for type: wasm; the built-in tool_poisoning guard has no module.",
      'warden.yaml:14:23 security_guards[3].config.action: security_guards[3].config.action must be one of "hide", "block", "warn", not "explode".',
      "warden.yaml:15:33 security_guards[3].limits.max_memory_bytes: security_guards[3].limits.max_memory_bytes must be a whole number from 65536 to 268435456, not 10.",
      'warden.yaml:15:37 security_guards[3].limits.max_cpu: unknown key "max_cpu" in security_guards[3].limits; known keys: max_memory_bytes, max_execution_time_ms, max_fuel.',
    ]);
    expect(r.guards).toEqual([]);
  });

  it("suggests the closest type and key (did you mean)", () => {
    const r = parseGuardsYaml(
      "security_guards:\n  - id: a\n    type: rug_pul\n    priorty: 3\n",
      "w.yaml",
    );
    expect(formatGuardIssues(r.issues).split("\n")).toEqual([
      'w.yaml:3:11 security_guards[0].type: type must be wasm or a built-in: tool_poisoning, rug_pull, tool_shadowing, server_whitelist, pii, not "rug_pul" (did you mean "rug_pull"?).',
      'w.yaml:4:5 security_guards[0].priorty: unknown key "priorty" in security_guards[0] (a guard entry) (did you mean "priority"?); known keys: id, type, enabled, priority, failure_mode, timeout_ms, runs_on, module_path, config, limits.',
    ]);
  });

  it("names a duplicate id with the line of the first", () => {
    const r = parseGuardsYaml(
      "security_guards:\n  - id: a\n    type: pii\n  - id: a\n    type: pii\n",
      "w.yaml",
    );
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({ line: 4, key: "security_guards[1].id" });
    expect(r.issues[0]!.message).toContain("first at line 2");
  });

  it("takes the gateway's parsed node and LineCounter", () => {
    const lineCounter = new LineCounter();
    const doc = parseDocument(GOOD, { lineCounter });
    const node = doc.get("security_guards", true);
    const r = parseGuardsConfig(node, "/srv/warden/warden.yaml", { lineCounter });
    expect(r.guards).toHaveLength(3);
    expect(r.guards[1]!.source.line).toBe(6);
  });

  it("an absent or empty key means no guards; a non-list is an error", () => {
    expect(parseGuardsYaml("listen: stdio\n", "w.yaml").guards).toEqual([]);
    expect(parseGuardsConfig(null, "w.yaml").guards).toEqual([]);
    expect(parseGuardsYaml("security_guards: 3\n", "w.yaml").issues[0]!.message).toContain(
      "must be a list",
    );
  });
});
