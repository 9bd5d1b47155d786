/**
 * A compiled policy remembers what each raw input came to (canonical form, the rules it hits:
 * src/policy/match/memo.ts). These tests hold that remembering changes no answer: repeated
 * inputs get the answers fresh ones get, whatever else the action carries (arguments, ports,
 * schemes, kinds), explanations still show the canonical input, a new policy starts empty,
 * and the memory stays bounded under a flood of distinct inputs.
 */
import { describe, expect, it } from "vitest";
import { type CompiledPolicy, compilePolicy } from "../../src/policy/index.js";
import { MEMO_ENTRIES, MEMO_KEY_LENGTH, MEMO_REFRESH } from "../../src/policy/match/memo.js";

const POLICY = `
version: "1.0"
storage:
  allow:
    - uri: "fs:///data/**"
      access: [read]
    - uri: "fs:///data/out/**"
      access: [write]
  deny:
    - uri: "fs:///data/secret/**"
network:
  allow:
    - host: "*.example.com"
      ports: [443]
    - host: "*.example.com"
      schemes: [http]
    - cidr: 10.0.0.0/8
  deny:
    - host: "*.evil.com"
environment:
  allow: ["APP_*"]
  deny: ["APP_SECRET*"]
mcp:
  tools:
    allow:
      - name: file_reader
        parameters:
          path: "/data/**"
      - name: "calc_*"
      - name: limited
        max_calls_per_minute: 2
    deny: ["system_*"]
`;

function compiled(src = POLICY): CompiledPolicy {
  const r = compilePolicy(src, { file: "memo.yaml" });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

type A = Record<string, unknown>;

describe("remembered inputs get the answers fresh ones get", () => {
  it("the same tool name with different arguments is judged on each call's arguments", () => {
    const p = compiled();
    const call = (path: string) =>
      p.check({ kind: "tool.call", name: "file_reader", arguments: { path } });
    expect(call("/data/a.txt").allowed).toBe(true);
    expect(call("/etc/passwd").code).toBe("condition");
    expect(call("/data/../etc/passwd").code).toBe("condition");
    expect(call("/data/a.txt").allowed).toBe(true);
    expect(call("/etc/passwd").allowed).toBe(false);
  });

  it("a repeated name still takes rate-limit tokens, per caller", () => {
    const p = compiled();
    const call = (caller: string) =>
      p.check({ kind: "tool.call", name: "limited", caller }, { now: 1000 });
    expect([call("a"), call("a"), call("a")].map((d) => d.code)).toEqual([
      "allow_rule",
      "allow_rule",
      "rate_limited",
    ]);
    expect(call("b").allowed).toBe(true);
    // A caller NFKC would change (full-width a) is refused: it gets no window of its own.
    expect(call("\uff41").code).toBe("not_canonical");
    expect(call("\uff41").code).toBe("not_canonical");
    expect(call("a\u200b").code).toBe("not_canonical");
    expect(call("a\u200b").reason).toMatch(/caller: /);
  });

  it("one name, listed and called: each kind keeps its own answer", () => {
    const p = compiled();
    expect(p.check({ kind: "tool.list", name: "file_reader" }).allowed).toBe(true);
    expect(p.check({ kind: "tool.call", name: "file_reader" }).code).toBe("condition");
    expect(p.check({ kind: "tool.list", name: "file_reader" }).allowed).toBe(true);
    const bad = "file\u0000reader";
    const first = p.check({ kind: "tool.call", name: bad });
    expect(first.code).toBe("not_canonical");
    expect(p.check({ kind: "tool.list", name: bad }).reason).toMatch(/^tool\.list: /);
    expect(p.check({ kind: "tool.call", name: bad })).toEqual(first);
  });

  it("one path, read and written: each access keeps its own answer", () => {
    const p = compiled();
    for (let i = 0; i < 3; i++) {
      expect(p.check({ kind: "storage.read", uri: "/data/out/x" }).allowed).toBe(true);
      expect(p.check({ kind: "storage.write", uri: "/data/out/x" }).allowed).toBe(true);
      expect(p.check({ kind: "storage.read", uri: "/data/in/x" }).allowed).toBe(true);
      expect(p.check({ kind: "storage.write", uri: "/data/in/x" }).code).toBe("no_rule");
      expect(p.check({ kind: "storage.read", uri: "/data/secret/k" }).code).toBe("deny_rule");
    }
  });

  it("one host on different ports and schemes: each request's conditions are judged", () => {
    const p = compiled();
    const at = (port?: number, scheme?: string): A => ({
      kind: "network.connect",
      host: "api.example.com",
      ...(port === undefined ? {} : { port }),
      ...(scheme === undefined ? {} : { scheme }),
    });
    for (let i = 0; i < 3; i++) {
      expect(p.check(at(443)).ruleId).toBe("network.allow[0]");
      expect(p.check(at(8080)).code).toBe("condition");
      expect(p.check(at(8080, "http")).ruleId).toBe("network.allow[1]");
      expect(p.check({ kind: "network.connect", host: "api.example.com:8443" }).code).toBe(
        "condition",
      );
      expect(p.check({ kind: "network.connect", host: "api.example.com:443", port: 80 }).code).toBe(
        "bad_action",
      );
    }
  });

  it("one URL with different methods, and the same host in a URL and alone", () => {
    const p = compiled(`
network:
  allow:
    - host: api.example.com
      methods: [GET]
`);
    const req = (method: string) =>
      p.check({ kind: "http.request", url: "https://API.example.com./v1", method });
    for (let i = 0; i < 3; i++) {
      expect(req("GET").allowed).toBe(true);
      expect(req("POST").code).toBe("condition");
      expect(p.check({ kind: "network.connect", host: "api.example.com" }).code).toBe("condition");
    }
  });

  it("one resource URI, read, listed, subscribed and completed: each keeps its own answer", () => {
    const p = compiled(`
mcp:
  resources:
    allow:
      - uri: "file:///workspace/**"
        operations: [read]
    deny:
      - uri: "file:///workspace/.git/**"
`);
    const uri = "file:///workspace/./src//a.ts";
    for (let i = 0; i < 3; i++) {
      expect(p.check({ kind: "resource.read", uri }).allowed).toBe(true);
      expect(p.check({ kind: "resource.list", uri }).reason).toMatch(
        /^resource\.list: no resource/,
      );
      const c = p.check({ kind: "completion.complete", ref: { type: "ref/resource", uri } });
      expect(c.allowed).toBe(true);
      const other = "file:///elsewhere/a";
      expect(p.check({ kind: "resource.read", uri: other }).reason).toMatch(/^resource\.read: /);
      expect(
        p.check({ kind: "completion.complete", ref: { type: "ref/resource", uri: other } }).reason,
      ).toMatch(/^completion\.complete: /);
      expect(p.check({ kind: "resource.read", uri: "file:///workspace/.git/../.git/x" }).code).toBe(
        "deny_rule",
      );
      expect(p.check({ kind: "resource.read", uri }, { explain: true }).explanation?.input).toEqual(
        { kind: "resource.read", uri: "file:///workspace/src/a.ts" },
      );
    }
  });

  it("environment keys: denied, allowed and unmentioned, again and again", () => {
    const p = compiled();
    for (let i = 0; i < 3; i++) {
      expect(p.check({ kind: "env.read", key: "APP_SECRET_KEY" }).code).toBe("deny_rule");
      expect(p.check({ kind: "env.read", key: "APP_NAME" }).allowed).toBe(true);
      expect(p.check({ kind: "env.read", key: "HOME" }).code).toBe("no_rule");
    }
  });
});

describe("explanations of remembered inputs", () => {
  it.each<[string, A, Record<string, unknown>]>([
    [
      "a path judged without building its string",
      { kind: "storage.read", uri: "/data/./a//b" },
      { uri: "/data/a/b" },
    ],
    ["a path URI", { kind: "storage.read", uri: "fs:///data/x/../y" }, { uri: "/data/y" }],
    ["a host", { kind: "network.connect", host: "API.Example.COM." }, { host: "api.example.com" }],
    ["an IPv4 short form", { kind: "network.connect", host: "10.1" }, { host: "10.0.0.1" }],
    ["a tool name", { kind: "tool.call", name: "calc_\u00e9" }, { name: "calc_\u00e9" }],
    ["an env key", { kind: "env.read", key: "APP_NAME" }, { key: "APP_NAME" }],
  ])("%s: the canonical input, asked plain first and explained after", (_n, action, want) => {
    const p = compiled();
    const plain = p.check(action);
    const explained = p.check(action, { explain: true });
    expect(explained.allowed).toBe(plain.allowed);
    expect(explained.explanation?.input).toMatchObject(want);
    expect(p.check(action, { explain: true }).explanation?.input).toEqual(
      explained.explanation?.input,
    );
  });
});

describe("what is remembered is per policy and bounded", () => {
  it("a new policy does not answer from the old one's memory", () => {
    const old = compiled();
    const action = { kind: "tool.call", name: "calc_add" };
    expect(old.check(action).allowed).toBe(true);
    const next = compiled(POLICY.replace(`deny: ["system_*"]`, `deny: ["system_*", "calc_*"]`));
    expect(next.check(action).code).toBe("deny_rule");
    expect(old.check(action).allowed).toBe(true);
  });

  it(`a flood of distinct inputs keeps at most ${MEMO_ENTRIES} and every answer right`, () => {
    const p = compiled();
    const tools = (p.sections.get("mcp") as { tools: { memo: { size: number } } }).tools.memo;
    for (let i = 0; i < MEMO_ENTRIES * 3 + 17; i++) {
      const name = i % 2 === 0 ? `system_${i}` : `calc_${i}`;
      expect(p.check({ kind: "tool.call", name }).allowed).toBe(i % 2 === 1);
      expect(tools.size).toBeLessThanOrEqual(MEMO_ENTRIES);
    }
    expect(tools.size).toBeGreaterThan(0);
  });

  it(`a full memo starts over after ${MEMO_REFRESH} misses, so new inputs are remembered`, () => {
    const p = compiled();
    const tools = (p.sections.get("mcp") as { tools: { memo: { size: number } } }).tools.memo;
    const check = (i: number) => p.check({ kind: "tool.call", name: `calc_${i}` }).allowed;
    for (let i = 0; i < MEMO_ENTRIES; i++) check(i);
    expect(tools.size).toBe(MEMO_ENTRIES);
    for (let i = 0; i < MEMO_REFRESH - 1; i++) check(MEMO_ENTRIES + i);
    expect(tools.size).toBe(MEMO_ENTRIES);
    expect(check(-1)).toBe(true);
    expect(tools.size).toBe(1);
    expect(check(-1)).toBe(true);
    expect(tools.size).toBe(1);
  });

  it(`inputs over ${MEMO_KEY_LENGTH} characters are judged afresh, not kept`, () => {
    const p = compiled();
    const tools = (p.sections.get("mcp") as { tools: { memo: { size: number } } }).tools.memo;
    const long = `calc_${"x".repeat(MEMO_KEY_LENGTH)}`;
    expect(p.check({ kind: "tool.call", name: long }).allowed).toBe(true);
    expect(p.check({ kind: "tool.call", name: `system_${long}` }).code).toBe("deny_rule");
    expect(tools.size).toBe(0);
  });
});
