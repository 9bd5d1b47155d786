// The JSON Schemas shipped in schemas/ (what editors read, and what Warden validates with)
// accept every example config and every YAML snippet of the docs, and carry what an editor
// needs: an $id, a description on every key, the defaults the code applies.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { LIST_ACTIONS } from "../../src/guards/builtin/check.js";
import { PII_KINDS } from "../../src/guards/builtin/pii-scan.js";
import { BUILTIN_TYPES } from "../../src/guards/builtin/registry.js";
import { GUARD_DEFAULTS } from "../../src/guards/config.js";
import { GUARD_PHASES } from "../../src/guards/types.js";
import { HTTP_LIMITS, MESSAGE_LIMITS, REQUEST_TIMEOUT_MS } from "../../src/mcp/config-types.js";
import {
  checkSchema,
  readShippedSchema,
  type ShippedSchema,
  shippedValidator,
} from "../../src/policy/json-schema.js";

const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => join(dir, f));

/** What the schema says of `value`, as `key: message` lines. */
function problems(name: ShippedSchema, value: unknown, ignoreMissing = false): string[] {
  return checkSchema(shippedValidator(name), value)
    .filter((p) => !(ignoreMissing && p.kind === "missing_key"))
    .map((p) => `${p.path.join(".")}: ${p.message}`);
}

/** ```yaml blocks of the docs and README (duplicate keys allowed: "listen: stdio  # or:"). */
function snippets(): { where: string; value: unknown }[] {
  const out: { where: string; value: unknown }[] = [];
  for (const file of ["README.md", ...readdirSync("docs").map((f) => join("docs", f))]) {
    if (!file.endsWith(".md")) continue;
    const md = readFileSync(file, "utf8");
    for (const m of md.matchAll(/```yaml\n([\s\S]*?)```/g)) {
      const line = md.slice(0, m.index).split("\n").length;
      const doc = parseDocument(m[1]!, { uniqueKeys: false });
      expect(doc.errors, `${file}:${line} is valid YAML`).toEqual([]);
      out.push({ where: `${file}:${line}`, value: doc.toJS() });
    }
  }
  return out;
}

const WARDEN_KEYS = [
  "listen",
  "upstreams",
  "security_guards",
  "auth",
  "audit",
  "state",
  "admin",
  "wasm",
  "telemetry",
];
/** Keys of one rule in a rules file (docs/rules.md shows single conditions as fragments). */
const RULE_KEYS = ["condition", "conditions", "action", "priority", "on_error", "wasm_plugin"];

describe("the shipped schemas", () => {
  it("accept every example warden.yaml and policy", () => {
    for (const f of [
      "examples/warden.stdio.yaml",
      "examples/warden.http.yaml",
      "examples/demo/warden.yaml",
    ])
      expect(problems("warden", parseDocument(readFileSync(f, "utf8")).toJS()), f).toEqual([]);
    for (const f of [
      "examples/policy.yaml",
      "examples/demo/policy.yaml",
      ...yamlFiles("examples/policies"),
    ])
      expect(problems("policy", parseDocument(readFileSync(f, "utf8")).toJS()), f).toEqual([]);
  });

  it("accept every YAML snippet of the docs (a warden.yaml part, a policy, policy test cases, or rules)", () => {
    const seen = { warden: 0, policy: 0, cases: 0, rules: 0 };
    for (const { where, value } of snippets()) {
      if (value === null || typeof value !== "object") continue;
      // A `warden policy test` case file (docs/cli.md).
      if ("cases" in value) {
        seen.cases++;
        expect(problems("policy-test", value), where).toEqual([]);
        continue;
      }
      // A list snippet shows rules of mcp.tools.allow (docs/policy.md, "Parameters").
      if (Array.isArray(value)) {
        expect(problems("policy", { mcp: { tools: { allow: value } } }), where).toEqual([]);
        continue;
      }
      // A rules file (docs/rules.md), or a part of one rule.
      if ("rules" in value && Array.isArray(value.rules)) {
        seen.rules++;
        expect(problems("rules", value, true), where).toEqual([]);
        continue;
      }
      if (Object.keys(value).every((k) => RULE_KEYS.includes(k))) {
        seen.rules++;
        const rule = { name: "snippet", action: "deny", ...value };
        expect(problems("rules", { rules: [rule] }, true), where).toEqual([]);
        continue;
      }
      const warden = Object.keys(value).some((k) => WARDEN_KEYS.includes(k));
      seen[warden ? "warden" : "policy"]++;
      // A snippet shows a part: keys it leaves out are not missing.
      expect(problems(warden ? "warden" : "policy", value, true), where).toEqual([]);
    }
    expect(seen.warden).toBeGreaterThanOrEqual(2);
    expect(seen.policy).toBeGreaterThanOrEqual(1);
    expect(seen.cases).toBeGreaterThanOrEqual(1);
    expect(seen.rules).toBeGreaterThanOrEqual(1);
  });

  it("accept the example policy test cases", () => {
    const dir = "examples/policies/tests";
    for (const f of readdirSync(dir).map((n) => join(dir, n)))
      expect(problems("policy-test", parseDocument(readFileSync(f, "utf8")).toJS()), f).toEqual([]);
  });

  it("have an $id and a description on every key, for editors", () => {
    const undescribed: string[] = [];
    const walk = (s: unknown, at: string) => {
      if (s === null || typeof s !== "object") return;
      const o = s as Record<string, unknown>;
      const props = o.properties as Record<string, Record<string, unknown>> | undefined;
      for (const [k, v] of Object.entries(props ?? {})) {
        if (typeof v.description !== "string" && v.$ref === undefined && !("not" in v))
          undescribed.push(`${at}.${k}`);
        walk(v, `${at}.${k}`);
      }
      for (const k of ["items", "definitions", "then", "else", "additionalProperties"])
        if (k === "definitions")
          for (const [n, d] of Object.entries((o[k] ?? {}) as object)) walk(d, `${at}#${n}`);
        else walk(o[k], at);
    };
    for (const name of ["warden", "policy", "guards", "policy-test"] as const) {
      const s = readShippedSchema(name);
      expect(s.$id).toBe(`https://warden.invalid/schemas/${name}.schema.json`);
      walk(s, name);
    }
    expect(undescribed).toEqual([]);
  });

  it("state the defaults the code applies", () => {
    const w = readShippedSchema("warden") as {
      properties: Record<string, { properties: Record<string, { default?: unknown }> }>;
      definitions: Record<string, { properties: Record<string, { default?: unknown }> }>;
    };
    const limits = w.properties.limits!.properties;
    expect(limits.json_depth!.default).toBe(MESSAGE_LIMITS.jsonDepth);
    expect(limits.client_message_bytes!.default).toBe(MESSAGE_LIMITS.clientMessageBytes);
    expect(limits.client_queue_bytes!.default).toBe(MESSAGE_LIMITS.clientQueueBytes);
    const http = (
      w.properties.listen as unknown as {
        properties: { http: { properties: Record<string, { default?: unknown }> } };
      }
    ).properties.http.properties;
    expect(http.max_body_bytes!.default).toBe(HTTP_LIMITS.bodyBytes);
    expect(http.max_sessions!.default).toBe(HTTP_LIMITS.sessions);
    expect(http.max_sessions_per_token!.default).toBe(HTTP_LIMITS.sessionsPerCaller);
    expect(http.keep_alive_seconds!.default).toBe(HTTP_LIMITS.keepAliveMs / 1000);
    expect(w.definitions.stdio_upstream!.properties.request_timeout_ms!.default).toBe(
      REQUEST_TIMEOUT_MS,
    );
    const g = readShippedSchema("guards") as {
      definitions: { entry: { properties: Record<string, { default?: unknown }> } };
    };
    const e = g.definitions.entry.properties;
    expect(e.priority!.default).toBe(GUARD_DEFAULTS.priority);
    expect(e.timeout_ms!.default).toBe(GUARD_DEFAULTS.timeoutMs);
    expect(e.failure_mode!.default).toBe(GUARD_DEFAULTS.failureMode);
  });

  it("name the guard types, phases and built-in settings the code has", () => {
    const g = readShippedSchema("guards") as {
      definitions: Record<string, { enum?: string[]; properties: Record<string, Schema> }>;
    };
    type Schema = { enum?: string[]; items?: { enum?: string[] } };
    const d = g.definitions;
    expect(d.entry!.properties.type!.enum).toEqual(["wasm", ...Object.keys(BUILTIN_TYPES)]);
    expect(d.phase!.enum).toEqual([...GUARD_PHASES]);
    expect(d.pii_config!.properties.kinds!.items!.enum).toEqual([...PII_KINDS]);
    for (const t of ["tool_poisoning", "rug_pull", "tool_shadowing"])
      expect(d[`${t}_config`]!.properties.action!.enum).toEqual([...LIST_ACTIONS]);
  });
});
