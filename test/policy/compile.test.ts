import { describe, expect, it } from "vitest";
import { compilePolicy, type PolicyError } from "../../src/policy/index.js";

function errors(src: string): PolicyError[] {
  const r = compilePolicy(src, { file: "p.yaml" });
  if (r.ok) throw new Error("expected errors");
  return r.errors;
}

/** Every object reachable through own enumerable properties is frozen (RegExps aside). */
function expectFrozenDeep(v: unknown, seen = new Set<object>()): void {
  if (v === null || typeof v !== "object" || v instanceof RegExp || seen.has(v)) return;
  seen.add(v);
  expect(Object.isFrozen(v), JSON.stringify(v)).toBe(true);
  for (const x of Object.values(v)) expectFrozenDeep(x, seen);
}

describe("compilePolicy: located errors", () => {
  it("reports an unknown key with file:line:col, the key and a did-you-mean", () => {
    const [e, ...rest] = errors(
      `version: "1.0"\nnetwork:\n  allow:\n    - hots: api.example.com\n`,
    );
    expect(rest).toEqual([]);
    expect(e).toMatchObject({
      file: "p.yaml",
      line: 4,
      col: 7,
      code: "policy_unknown_key",
      key: "network.allow[0].hots",
    });
    expect(e!.message).toContain('did you mean "host"?');
  });

  it("treats keys named like Object.prototype members as unknown keys, not as known ones", () => {
    for (const key of [
      "constructor",
      "toString",
      "hasOwnProperty",
      "__defineGetter__",
      "__proto__",
    ]) {
      const errs = errors(
        `version: "1.0"\nstorage:\n  allow:\n    - uri: "fs:///tmp/**"\n      access: [read]\n      ${key}: 1\n`,
      );
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatchObject({
        line: 6,
        col: 7,
        code: "policy_unknown_key",
        key: `storage.allow[0].${key}`,
      });
    }
    // JSON.parse makes "__proto__" an own key; it was accepted silently too.
    const json = errors(
      `{\n  "storage": {\n    "allow": [\n      { "uri": "fs:///tmp/**", "access": ["read"], "__proto__": { "x": 1 } }\n    ]\n  }\n}\n`,
    );
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({
      line: 4,
      col: 52,
      code: "policy_unknown_key",
      key: "storage.allow[0].__proto__",
    });
  });

  it("reports every error, sorted by position, not just the first", () => {
    const errs = errors(
      [
        `version: "2.0"`,
        `storage:`,
        `  allow:`,
        `    - uri: "fs:///tmp/**"`,
        `      access: [read, wrte]`,
        `mcp:`,
        `  tools:`,
        `    allow:`,
        `      - name: x`,
        `        max_calls_per_minute: -1`,
        `netwrk: {}`,
      ].join("\n"),
    );
    expect(errs.map((e) => [e.line, e.code])).toEqual([
      [1, "policy_bad_value"],
      [5, "policy_type"],
      [10, "policy_type"],
      [11, "policy_unknown_key"],
    ]);
    expect(errs[1]!.message).toContain('did you mean "write"?');
    expect(errs[3]!.message).toContain('did you mean "network"?');
  });

  it("reports YAML syntax errors with their position", () => {
    const [e] = errors(`version: "1.0"\nmcp:\n  tools: [\n`);
    expect(e!.code).toBe("policy_syntax");
    expect(e!.line).toBeGreaterThan(1);
  });

  it("refuses duplicate keys", () => {
    expect(errors(`version: "1.0"\nversion: "1.0"\n`)[0]!.code).toBe("policy_syntax");
  });

  it("refuses an empty policy and a section given twice", () => {
    expect(errors("")[0]!.code).toBe("policy_missing_key");
    const [e] = errors(`permissions:\n  mcp: {}\nmcp: {}\n`);
    expect(e!.code).toBe("policy_duplicate");
  });

  it.each([
    [
      `storage:\n  allow:\n    - uri: "fs:///tmp/../etc/**"\n      access: read\n`,
      "policy_bad_pattern",
      3,
    ],
    [`storage:\n  allow:\n    - uri: "/tmp/**"\n`, "policy_missing_key", 3],
    [`network:\n  allow:\n    - cidr: 10.0.0.1/8\n`, "policy_bad_pattern", 3],
    [`network:\n  allow:\n    - cidr: 10.0.0.0/33\n`, "policy_bad_pattern", 3],
    [`network:\n  allow:\n    - host: a.com\n      cidr: 10.0.0.0/8\n`, "policy_missing_key", 3],
    [`network:\n  allow:\n    - host: "a.com"\n      ports: ["99999"]\n`, "policy_bad_value", 4],
    [`network:\n  allow:\n    - host: "a .com"\n`, "policy_bad_pattern", 3],
    [`mcp:\n  tools:\n    allow:\n      - name: "a[b"\n`, "policy_bad_pattern", 4],
    [`mcp:\n  tools:\n    allow:\n      - name: "a\u200bb"\n`, "policy_bad_pattern", 4],
    [
      `mcp:\n  tools:\n    allow:\n      - name: t\n        parameters:\n          q: { regex: "(" }\n`,
      "policy_bad_pattern",
      6,
    ],
    [
      `mcp:\n  tools:\n    allow:\n      - name: t\n        parameters:\n          q: { size: 3 }\n`,
      "policy_unknown_key",
      6,
    ],
    [`resources:\n  limits:\n    memory: 12 parsecs\n`, "policy_bad_value", 3],
    [`resources:\n  limits:\n    execution_time: soon\n`, "policy_bad_value", 3],
    [`runtime:\n  engine: wasmtim\n`, "policy_type", 2],
    [`mcp:\n  transport:\n    http:\n      allowed_hosts: ["bad host"]\n`, "policy_bad_pattern", 4],
  ])("%j → %s on line %i", (src, code, line) => {
    const errs = errors(src);
    expect(errs[0]).toMatchObject({ code, line });
  });
});

describe("compilePolicy: what it accepts", () => {
  it("accepts JSON, which is YAML, with positions", () => {
    const r = compilePolicy(
      '{\n  "version": "1.0",\n  "mcp": {\n    "tools": {\n      "allow": [\n        {"name": "calc"}\n      ]\n    }\n  }\n}\n',
      { file: "p.json" },
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.policy.check({ kind: "tool.call", name: "calc" })).toMatchObject({
      allowed: true,
      rule: "p.json:6",
    });
  });

  it("locates errors in JSON sources too, and refuses duplicate JSON keys", () => {
    const json =
      '{\n  "version": "1.0",\n  "network": {\n    "allow": [\n      {"hots": "a.com"}\n    ]\n  }\n}\n';
    const r = compilePolicy(json, { file: "p.json" });
    expect(!r.ok && r.errors[0]).toMatchObject({
      line: 5,
      col: 8,
      code: "policy_unknown_key",
      key: "network.allow[0].hots",
    });
    const dup = compilePolicy('{"version": "1.0", "version": "1.0"}', { file: "d.json" });
    expect(!dup.ok && dup.errors[0]!.code).toBe("policy_syntax");
    const broken = compilePolicy('{"version": "1.0",\n "mcp": {]}', { file: "b.json" });
    expect(!broken.ok && broken.errors[0]).toMatchObject({ code: "policy_syntax", line: 2 });
  });

  it("compiles a JSON source to the same decisions as its YAML twin", () => {
    const yaml = `mcp:\n  tools:\n    allow:\n      - name: "calc/*"\n        max_calls_per_minute: 5\n    deny: ["calc/div"]\n`;
    const json = JSON.stringify(
      {
        mcp: {
          tools: { allow: [{ name: "calc/*", max_calls_per_minute: 5 }], deny: ["calc/div"] },
        },
      },
      null,
      2,
    );
    const a = compilePolicy(yaml, { file: "a.yaml" });
    const b = compilePolicy(json, { file: "b.json" });
    if (!a.ok || !b.ok) throw new Error("compile failed");
    for (const name of ["calc/add", "calc/div", "other"]) {
      const x = a.policy.check({ kind: "tool.call", name });
      const y = b.policy.check({ kind: "tool.call", name });
      expect([x.allowed, x.code, x.ruleId]).toEqual([y.allowed, y.code, y.ruleId]);
    }
    expect(b.policy.check({ kind: "tool.call", name: "calc/div" }).rule).toBe("b.json:11");
  });

  it("accepts sections under permissions (the seed's minimal form)", () => {
    const r = compilePolicy(`version: "1.0"\npermissions:\n  environment:\n    allow: [HOME]\n`);
    expect(r.ok && r.policy.check({ kind: "env.read", key: "HOME" }).allowed).toBe(true);
  });

  it("parses units of resources.limits and runtime", () => {
    const r = compilePolicy(
      `resources:\n  limits: { cpu: 500m, memory: 512Mi, execution_time: 30s }\nruntime:\n  fuel: 1000\n  memory_limit: 1Gi\n  wasmedge: { wasi_nn: false, memory_limit: 256M }\n`,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.policy.limits).toEqual({
      cpu: 0.5,
      memory_bytes: 512 * 1024 * 1024,
      execution_time_ms: 30_000,
    });
    expect(r.policy.runtime).toEqual({
      fuel: 1000,
      memory_limit_bytes: 1024 ** 3,
      wasmedge: { wasi_nn: false, memory_limit_bytes: 256e6 },
    });
  });

  it("gives the revision as the sha256 of the source", async () => {
    const { createHash } = await import("node:crypto");
    const src = `version: "1.0"\n`;
    const r = compilePolicy(src);
    expect(r.ok && r.policy.revision).toBe(createHash("sha256").update(src).digest("hex"));
  });

  it("freezes the compiled policy all the way down", () => {
    const r = compilePolicy(`mcp:\n  tools:\n    allow: [calc]\n`);
    if (!r.ok) throw new Error("compile failed");
    const p = r.policy;
    expect(Object.isFrozen(p)).toBe(true);
    expect(() => {
      (p as unknown as { file: string }).file = "x";
    }).toThrow(TypeError);
    const sections = p.sections as Map<string, unknown>;
    expect(() => sections.set("storage", {})).toThrow(/immutable/);
    const mcp = sections.get("mcp") as { tools: object };
    expect(Object.isFrozen(mcp.tools)).toBe(true);
    const tools = (
      mcp as unknown as {
        tools: { allow: { addExact(v: string, r: unknown): void; first(s: string): object } };
      }
    ).tools;
    expect(() => tools.allow.addExact("evil", { index: -1 })).toThrow(/immutable/);
    expect(Object.isFrozen(tools.allow.first("calc"))).toBe(true);
    expect(p.check({ kind: "tool.call", name: "calc" }).allowed).toBe(true);
    expect(p.check({ kind: "tool.call", name: "evil" }).allowed).toBe(false);
    expect(Object.isFrozen(p.check({ kind: "tool.call", name: "calc" }))).toBe(true);
    const net = compilePolicy(`network:\n  allow:\n    - host: a.com\n      schemes: [https]\n`);
    if (!net.ok) throw new Error("compile failed");
    const rule = (
      net.policy.sections.get("network") as {
        allow: { hosts: { first(s: string): { schemes: Set<string> } } };
      }
    ).allow.hosts.first("a.com");
    expect(() => rule.schemes.add("http")).toThrow(/immutable/);
    expectFrozenDeep(rule);
    const withParams = compilePolicy(
      `mcp:\n  tools:\n    allow:\n      - name: read\n        parameters:\n          mode: { enum: [r, rw] }\n          path: "/data/**"\n`,
    );
    if (!withParams.ok) throw new Error("compile failed");
    const toolRule = (
      withParams.policy.sections.get("mcp") as { tools: { allow: { first(s: string): object } } }
    ).tools.allow.first("read");
    expect(toolRule).toBeDefined();
    expectFrozenDeep(toolRule);
  });

  it("never throws on a bad source type", () => {
    const r = compilePolicy(42 as unknown as string);
    expect(r.ok).toBe(false);
  });
});
