/**
 * The decision API over real HTTP: POST /v1/check judges a Warden action by the policy, then by
 * the rules (calling a real plugin from the registry), GET /v1/policy, POST /v1/policy/explain,
 * POST /v1/rules/playground (the seed's wasm_details), and /metrics with the seed's names.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRulesOrThrow } from "../../src/rules/index.js";
import { type Running, spamPlugin, startAdmin, tempDir } from "./helpers.js";

const RULES = `rules:
  - name: no-spam
    priority: 1
    condition: '!wasm("spam-check", "evaluate")'
    action: deny
    description: the spam plugin says no
  - name: watch-search
    priority: 2
    conditions:
      - { field: action_type, operator: eq, value: search }
    action: warn
  - name: review-git
    priority: 3
    conditions:
      - { field: action_type, operator: starts_with, value: git_ }
    action: review
`;

let admin: Running;

beforeAll(async () => {
  const dir = tempDir();
  const file = join(dir, "rules.yaml");
  writeFileSync(file, RULES);
  let rules: ReturnType<typeof loadRulesOrThrow> | null = null;
  admin = await startAdmin({ rules: () => rules });
  await admin.registry.register({ name: "spam-check", bytes: await spamPlugin() });
  rules = loadRulesOrThrow(file, { plugins: admin.registry });
});
afterAll(() => admin.close());

const post = async (path: string, body: unknown) => {
  const r = await fetch(`${admin.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

describe("POST /v1/check", () => {
  it("allows what the policy allows and no rule objects to, with both explanations", async () => {
    const r = await post("/v1/check", {
      action: { kind: "tool.call", name: "calculator/add", arguments: { a: 1 } },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      allowed: true,
      decision: "allow",
      policy: { allowed: true, ruleId: "mcp.tools.allow[0]" },
      rules: { action: null, rule: null },
    });
    expect(typeof r.body.decision_id).toBe("string");
    expect(typeof r.body.duration_us).toBe("number");
  });

  it("a rule calling a plugin denies what the policy allowed", async () => {
    const r = await post("/v1/check", {
      action: { kind: "tool.call", name: "calculator/add", arguments: { note: "spam" } },
      explain: true,
    });
    expect(r.body).toMatchObject({
      allowed: false,
      decision: "deny",
      policy: { allowed: true },
      code: "rule_denied",
      rules: { action: "deny", rule: "no-spam", code: "rule_denied" },
    });
    expect(r.body.reason).toContain("no-spam");
    const trace = (r.body.rules as { trace: { wasm_details?: unknown[] }[] }).trace;
    expect(trace[0]!.wasm_details).toEqual([
      expect.objectContaining({ plugin: "spam-check", function: "evaluate", verdict: false }),
    ]);
  });

  it("a review rule answers decision review, not allowed, with the code rule_review", async () => {
    const r = await post("/v1/check", {
      action: { kind: "tool.call", name: "git_status", arguments: { repo: "a/b" } },
    });
    expect(r.body).toMatchObject({
      allowed: false,
      decision: "review",
      code: "rule_review",
      rules: { action: "review", rule: "review-git", code: "rule_review" },
    });
    expect(r.body.reason).toMatch(/rule "review-git" \(.*rules\.yaml:\d+\)/);
  });

  it("the policy's deny is final: rules do not run", async () => {
    const r = await post("/v1/check", { action: { kind: "tool.call", name: "system_exec" } });
    expect(r.body).toMatchObject({ allowed: false, decision: "deny", rules: null });
  });

  it("a warn rule lets the call through, marked", async () => {
    const r = await post("/v1/check", {
      action: { kind: "tool.call", name: "search", arguments: { query: "x" } },
    });
    expect(r.body).toMatchObject({
      allowed: true,
      decision: "warn",
      rules: { rule: "watch-search" },
    });
  });

  it("a body that is not {action: object} is 400", async () => {
    expect((await post("/v1/check", { action: "x" })).status).toBe(400);
    expect((await post("/v1/check", { nope: 1 })).status).toBe(400);
    const r = await fetch(`${admin.url}/v1/check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ code: "admin_bad_request" });
    const proto = await fetch(`${admin.url}/v1/check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"action":{"kind":"tool.call","name":"x","__proto__":{"allowed":true}}}',
    });
    expect(proto.status).toBe(400);
  });
});

describe("policy and playground", () => {
  it("GET /v1/policy names the policy in force", async () => {
    const r = await fetch(`${admin.url}/v1/policy`);
    expect(await r.json()).toMatchObject({ version: "1.0" });
  });

  it("POST /v1/policy/explain explains, with a hint for a default deny", async () => {
    const r = await post("/v1/policy/explain", {
      action: { kind: "tool.call", name: "unknown_tool" },
    });
    expect(r.body).toMatchObject({ allowed: false });
    expect(r.body.explanation).toBeDefined();
  });

  it("POST /v1/rules/playground traces every rule, the seed's wasm_details included", async () => {
    const r = await post("/v1/rules/playground", {
      action: { action_type: "payment", payload: { note: "spam" }, tenant: "t" },
    });
    expect(r.status).toBe(200);
    const trace = r.body.trace as { rule_name: string; result: string; wasm_details?: object[] }[];
    expect(trace.map((t) => [t.rule_name, t.result])).toEqual([
      ["no-spam", "matched"],
      ["watch-search", "not_reached"],
      ["review-git", "not_reached"],
    ]);
    expect(trace[0]!.wasm_details![0]).toMatchObject({
      plugin: "spam-check",
      function: "evaluate",
      verdict: false,
      message: "spam actions are blocked",
    });
  });

  it("the playground takes rules as YAML; bad rules are 422 with their problems located", async () => {
    const ok = await post("/v1/rules/playground", {
      rules: "rules:\n  - { name: all, action: log, conditions: [] }\n",
      action: { kind: "tool.call", name: "x" },
    });
    expect(ok.body).toMatchObject({ action: "log", rule: "all" });
    const bad = await post("/v1/rules/playground", {
      rules: "rules:\n  - { name: a, action: explode }\n",
      action: { kind: "tool.call", name: "x" },
    });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ code: "rules_invalid" });
    expect((bad.body.details as { errors: { line: number }[] }).errors[0]!.line).toBe(2);
  });
});

describe("/metrics", () => {
  it("serves the seed's wasm_* metrics and the check counters from one registry", async () => {
    const text = await (await fetch(`${admin.url}/metrics`)).text();
    for (const name of [
      "wasm_invocations_total",
      "wasm_invocation_errors",
      "wasm_invocation_duration_us",
      "wasm_plugins_registered",
      "wasm_memory_used_bytes",
      "warden_admin_checks_total",
    ])
      expect(text, name).toContain(`# TYPE ${name}`);
    expect(text).toMatch(/wasm_plugins_registered 1/);
    expect(text).toMatch(/wasm_invocations_total\{plugin="spam-check"\} [1-9]/);
  });
});
