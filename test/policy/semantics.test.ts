import { describe, expect, it } from "vitest";
import { type CompiledPolicy, compilePolicy, toCoreDecision } from "../../src/policy/index.js";

function policy(src: string): CompiledPolicy {
  const r = compilePolicy(src, { file: "s.yaml" });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

const P = policy(`version: "1.0"
storage:
  allow:
    - uri: "fs:///data/**"
      access: [read]
    - uri: "fs:///data/out/**"
      access: [read, write]
  deny:
    - uri: "fs:///data/private/**"
      access: [write]
network:
  allow:
    - host: api.example.com
      ports: [443, "8000-8100"]
      schemes: [https]
    - host: "*.cdn.example.com"
      methods: [GET]
  deny:
    - host: "*.example.com"
      ports: [25]
mcp:
  tools:
    allow:
      - name: "calc/*"
      - name: file_reader
        parameters:
          path: "/data/**"
      - name: file_reader
        parameters:
          path: "/tmp/**"
    deny:
      - name: "calc/div"
  prompts:
    allow:
      - name: greeting
        max_length: 10
  resources:
    allow:
      - uri: "file:///workspace/**"
      - uri: "sqlite://app.db"
        operations: [read]
    deny:
      - uri: "file:///workspace/.env"
  transport:
    stdio: true
    http:
      allowed_hosts: ["*.anthropic.com"]
`);

describe("semantics", () => {
  it("denies by default and says nothing matched", () => {
    const d = P.check({ kind: "tool.call", name: "other" });
    expect(d).toMatchObject({ allowed: false, effect: "deny", code: "no_rule" });
    expect(d.rule).toBeUndefined();
    expect(d.reason).toContain("default deny");
  });

  it("lets a deny rule beat an allow rule, naming file:line", () => {
    expect(P.check({ kind: "tool.call", name: "calc/add" })).toMatchObject({
      allowed: true,
      rule: "s.yaml:24",
      ruleId: "mcp.tools.allow[0]",
    });
    expect(P.check({ kind: "tool.call", name: "calc/div" })).toMatchObject({
      allowed: false,
      code: "deny_rule",
      rule: "s.yaml:32",
      ruleId: "mcp.tools.deny[0]",
    });
  });

  it("judges storage access per access kind", () => {
    expect(P.check({ kind: "storage.read", uri: "/data/private/x" }).allowed).toBe(true);
    expect(P.check({ kind: "storage.write", uri: "/data/private/x" }).allowed).toBe(false);
    expect(P.check({ kind: "storage.write", uri: "/data/x" }).allowed).toBe(false);
    expect(P.check({ kind: "storage.write", uri: "fs:///data/out/x" }).allowed).toBe(true);
  });

  it("tries allow rules in order: the first whose conditions hold decides", () => {
    const ok = P.check({ kind: "tool.call", name: "file_reader", arguments: { path: "/tmp/a" } });
    expect(ok).toMatchObject({ allowed: true, ruleId: "mcp.tools.allow[2]" });
    const no = P.check({ kind: "tool.call", name: "file_reader", arguments: { path: "/etc/a" } });
    expect(no).toMatchObject({ allowed: false, code: "condition", ruleId: "mcp.tools.allow[1]" });
    expect(no.reason).toContain(`is "/etc/a" (canonical), outside /data/**`);
    const missing = P.check({ kind: "tool.call", name: "file_reader", arguments: {} });
    expect(missing.reason).toContain('"path" is required');
  });

  it("checks ports, schemes and methods; unknown values fail allow rules and satisfy deny rules", () => {
    const c = (host: string, port?: number, scheme?: string) =>
      P.check({
        kind: "network.connect",
        host,
        ...(port ? { port } : {}),
        ...(scheme ? { scheme } : {}),
      }).allowed;
    expect(c("api.example.com", 443, "https")).toBe(true);
    expect(c("api.example.com", 8080, "https")).toBe(true);
    expect(c("api.example.com", 8101, "https")).toBe(false);
    expect(c("api.example.com", 443)).toBe(false);
    expect(c("api.example.com", 443, "http")).toBe(false);
    expect(c("mail.example.com", 25)).toBe(false);
    expect(P.check({ kind: "network.connect", host: "x.cdn.example.com" }).allowed).toBe(false); // no port: the port-25 deny may apply
    expect(
      P.check({ kind: "http.request", url: "https://x.cdn.example.com/a", method: "GET" }).allowed,
    ).toBe(true);
    expect(
      P.check({ kind: "http.request", url: "https://x.cdn.example.com/a", method: "POST" }).allowed,
    ).toBe(false);
    expect(
      P.check({ kind: "http.request", url: "https://api.example.com:8000/v1", method: "GET" })
        .allowed,
    ).toBe(true);
  });

  it("applies max_length to prompt arguments", () => {
    expect(
      P.check({ kind: "prompt.get", name: "greeting", arguments: { who: "Ada" } }).allowed,
    ).toBe(true);
    const d = P.check({
      kind: "prompt.get",
      name: "greeting",
      arguments: { who: "Ada Lovelace!" },
    });
    expect(d).toMatchObject({ allowed: false, code: "condition" });
  });

  it("judges resources by scheme and operation", () => {
    expect(P.check({ kind: "resource.read", uri: "file:///workspace/a.txt" }).allowed).toBe(true);
    expect(P.check({ kind: "resource.read", uri: "file:///workspace/.env" }).allowed).toBe(false);
    expect(P.check({ kind: "resource.read", uri: "file:///workspace/x/../.env" }).allowed).toBe(
      false,
    );
    expect(P.check({ kind: "resource.read", uri: "sqlite://app.db" }).allowed).toBe(true);
    expect(P.check({ kind: "resource.list", uri: "sqlite://app.db" }).allowed).toBe(false);
    expect(P.check({ kind: "resource.list", uri: "file:///workspace/a" }).allowed).toBe(true);
  });

  it("answers list visibility without parameters or rate limits", () => {
    expect(P.check({ kind: "tool.list", name: "file_reader" }).allowed).toBe(true);
    expect(P.check({ kind: "tool.list", name: "calc/div" }).allowed).toBe(false);
    expect(P.check({ kind: "prompt.list", name: "greeting" }).allowed).toBe(true);
  });

  it("judges completions by the prompt or resource they refer to", () => {
    expect(
      P.check({ kind: "completion.complete", ref: { type: "ref/prompt", name: "greeting" } })
        .allowed,
    ).toBe(true);
    expect(
      P.check({ kind: "completion.complete", ref: { type: "ref/prompt", name: "nope" } }).allowed,
    ).toBe(false);
    expect(
      P.check({
        kind: "completion.complete",
        ref: { type: "ref/resource", uri: "file:///workspace/a" },
      }).allowed,
    ).toBe(true);
    expect(P.check({ kind: "completion.complete", ref: { type: "ref/other" } }).code).toBe(
      "bad_action",
    );
  });

  it("judges transports", () => {
    expect(P.check({ kind: "transport.connect", transport: "stdio" }).allowed).toBe(true);
    expect(P.check({ kind: "transport.connect", transport: "websocket" }).allowed).toBe(false);
    expect(
      P.check({ kind: "transport.connect", transport: "http", host: "api.anthropic.com" }).allowed,
    ).toBe(true);
    expect(
      P.check({ kind: "transport.connect", transport: "http", host: "evil.com" }).allowed,
    ).toBe(false);
  });

  it("explains: rule, canonical input, result, time, revision", () => {
    const d = P.check({ kind: "storage.read", uri: "fs:///data//a/./b" }, { explain: true });
    expect(d.explanation).toMatchObject({
      rule: "s.yaml:4",
      ruleId: "storage.allow[0]",
      input: { kind: "storage.read", uri: "/data/a/b" },
      result: "allow",
      revision: P.revision,
    });
    expect(d.explanation!.time_ns).toBeGreaterThan(0);
    const n = P.check({ kind: "tool.call", name: "zzz" }, { explain: true });
    expect(n.explanation).toMatchObject({ rule: null, result: "deny" });
  });

  it.each([
    null,
    undefined,
    42,
    "tool.call",
    [],
    {},
    { kind: 7 },
    { kind: "nope" },
    { kind: "tool.call" },
    { kind: "tool.call", name: 5 },
    { kind: "tool.call", name: "calc/add", arguments: [1] },
    { kind: "tool.call", name: "calc/add", caller: 3 },
    { kind: "storage.read" },
    { kind: "network.connect", host: "a.com", port: 70000 },
    { kind: "network.connect", host: "a.com:80", port: 81 },
    { kind: "http.request", url: 5 },
    { kind: "http.request", url: "https://a.com", method: "G E T" },
    { kind: "transport.connect", transport: "pigeon" },
    { kind: "env.read", key: null },
    { kind: "completion.complete", ref: null },
    { kind: "storage.read", uri: "/data/x", caller: 5 },
  ])("denies malformed action %j with bad_action, never throwing", (action) => {
    const d = P.check(action);
    expect(d).toMatchObject({ allowed: false, code: "bad_action" });
    expect(P.check(action, { explain: true }).explanation?.result).toBe("deny");
  });

  it("denies an action whose fields throw when read", () => {
    const hostile = {
      kind: "tool.call",
      get name(): string {
        throw new Error("boom");
      },
    };
    expect(P.check(hostile)).toMatchObject({ allowed: false, code: "bad_action" });
    expect(P.check(hostile, { explain: true }).reason).toContain("boom");
  });

  it("maps to a core Decision", () => {
    const allow = toCoreDecision(P.check({ kind: "tool.call", name: "calc/add" }));
    expect(allow).toMatchObject({ verdict: "allow", by: "policy", rule: "s.yaml:24" });
    const deny = toCoreDecision(P.check({ kind: "tool.call", name: "x" }));
    expect(deny).toMatchObject({ verdict: "block", by: "policy", details: { code: "no_rule" } });
  });

  it("denies everything under the minimal policy", () => {
    const m = policy(`version: "1.0"\npermissions: {}\n`);
    for (const a of [
      { kind: "tool.call", name: "x" },
      { kind: "storage.read", uri: "/" },
      { kind: "network.connect", host: "localhost" },
      { kind: "env.read", key: "HOME" },
      { kind: "transport.connect", transport: "stdio" },
      { kind: "resource.read", uri: "file:///x" },
    ]) {
      expect(m.check(a)).toMatchObject({ allowed: false, code: "no_rule" });
    }
  });
});
