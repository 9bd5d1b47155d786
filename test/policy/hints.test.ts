/**
 * A default deny names the exact key and value to add, for every section, from the action as
 * it was judged (canonical). Each hint is then applied to the policy as written, and the same
 * action must be allowed: the hint is not just text, it works.
 */
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import {
  allowHint,
  type CompiledPolicy,
  compilePolicy,
  toCoreDecision,
} from "../../src/policy/index.js";

function compile(src: string): CompiledPolicy {
  const r = compilePolicy(src, { file: "p.yaml" });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

/** A policy with every section present and nothing allowed, and one with no section at all. */
const SOME = `version: "1.0"
storage: { allow: [{ uri: "/elsewhere/**", access: [read] }] }
network: { allow: [{ host: elsewhere.example }] }
environment: { allow: [ELSEWHERE] }
mcp:
  transport: { http: false }
  tools: { allow: [elsewhere] }
  prompts: { allow: [elsewhere] }
  resources: { allow: ["test://elsewhere"] }
  methods: { allow: [elsewhere/x] }
`;
const NONE = `version: "1.0"\n`;

/** Apply a hint to the policy text: `add \`- X\` under a.b` or `set \`a.b: V\``. */
function apply(src: string, hint: string): string {
  const doc = (parse(src) ?? {}) as Record<string, unknown>;
  const add = /^add `- (.+)` under ([a-z_.]+)$/.exec(hint);
  const set = /^set `([a-z_.]+): (.+?)`/.exec(hint);
  const [path, value] = add ? [add[2]!, parse(add[1]!)] : set ? [set[1]!, parse(set[2]!)] : [];
  if (path === undefined) throw new Error(`not a hint this test can apply: ${hint}`);
  const keys = path.split(".");
  let o = doc;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  const last = keys.at(-1)!;
  if (add) o[last] = [...((o[last] as unknown[] | undefined) ?? []), value];
  else o[last] = value;
  return stringify(doc);
}

const CASES: [string, Record<string, unknown>, string][] = [
  [
    "storage.read",
    { kind: "storage.read", uri: "fs:///srv//app/./x" },
    'add `- { uri: "/srv/app/x", access: [read] }` under storage.allow',
  ],
  [
    "storage.write",
    { kind: "storage.write", uri: "file:///tmp/a" },
    'add `- { uri: "/tmp/a", access: [write] }` under storage.allow',
  ],
  [
    "network.connect",
    { kind: "network.connect", host: "EXAMPLE.com.", port: 443, scheme: "https" },
    'add `- { host: "example.com", ports: [443], schemes: [https] }` under network.allow',
  ],
  [
    "http.request",
    { kind: "http.request", url: "https://Api.example.com:8443/x", method: "post" },
    'add `- { host: "api.example.com", ports: [8443], schemes: [https], methods: [POST] }` under network.allow',
  ],
  ["env.read", { kind: "env.read", key: "HOME" }, 'add `- "HOME"` under environment.allow'],
  [
    "tool.call",
    { kind: "tool.call", name: "files__delete", arguments: {} },
    'add `- name: "files__delete"` under mcp.tools.allow',
  ],
  ["tool.list", { kind: "tool.list", name: "t" }, 'add `- name: "t"` under mcp.tools.allow'],
  ["prompt.get", { kind: "prompt.get", name: "p" }, 'add `- name: "p"` under mcp.prompts.allow'],
  ["prompt.list", { kind: "prompt.list", name: "p" }, 'add `- name: "p"` under mcp.prompts.allow'],
  [
    "resource.read",
    { kind: "resource.read", uri: "file:///a/../b" },
    'add `- uri: "file:///b"` under mcp.resources.allow',
  ],
  [
    "resource.list",
    { kind: "resource.list", uri: "test://x" },
    'add `- { uri: "test://x", operations: [list] }` under mcp.resources.allow',
  ],
  [
    "completion.complete (prompt)",
    { kind: "completion.complete", ref: { type: "ref/prompt", name: "p" } },
    'add `- name: "p"` under mcp.prompts.allow',
  ],
  [
    "completion.complete (resource)",
    { kind: "completion.complete", ref: { type: "ref/resource", uri: "test://x" } },
    'add `- uri: "test://x"` under mcp.resources.allow',
  ],
  [
    "method.call",
    { kind: "method.call", method: "vendor/sync" },
    'add `- "vendor/sync"` under mcp.methods.allow',
  ],
  [
    "transport.connect stdio",
    { kind: "transport.connect", transport: "stdio" },
    "set `mcp.transport.stdio: true`",
  ],
  [
    "transport.connect http",
    { kind: "transport.connect", transport: "http", host: "LocalHost" },
    'set `mcp.transport.http: { allowed_hosts: ["localhost"] }` (or `mcp.transport.http: true` for any host)',
  ],
];

describe("a default deny names the exact key and value to add", () => {
  for (const [src, which] of [
    [SOME, "sections present"],
    [NONE, "sections absent"],
  ] as const)
    it.each(CASES)(
      `%s (${which}): the hint, and the policy with it applied allows`,
      (_n, a, hint) => {
        const p = compile(src);
        const d = p.check(a);
        expect(d.code).toBe("no_rule");
        expect(allowHint(p, a, d)).toBe(hint);
        expect(compile(apply(src, hint)).check(a)).toMatchObject({ allowed: true });
      },
    );

  it("no hint for a deny rule, a failed condition or a rate limit (their reason names the rule)", () => {
    const p = compile(`version: "1.0"
mcp:
  tools:
    allow:
      - name: t
        parameters: { path: "/data/**" }
      - name: r
        max_calls_per_minute: 1
    deny: [x]
`);
    const deny = { kind: "tool.call", name: "x" };
    expect(allowHint(p, deny, p.check(deny))).toBeUndefined();
    const cond = { kind: "tool.call", name: "t", arguments: { path: "/etc" } };
    expect(allowHint(p, cond, p.check(cond))).toBeUndefined();
    const rate = { kind: "tool.call", name: "r", arguments: {} };
    expect(p.check(rate, { now: 0 }).allowed).toBe(true);
    const limited = p.check(rate, { now: 1 });
    expect(limited.code).toBe("rate_limited");
    expect(allowHint(p, rate, limited)).toBeUndefined();
  });

  it("the gateway's core decision carries the hint in details.hint", () => {
    const p = compile(NONE);
    const a = { kind: "transport.connect", transport: "stdio" };
    const d = p.check(a);
    expect(toCoreDecision(d, allowHint(p, a, d)).details).toMatchObject({
      code: "no_rule",
      hint: "set `mcp.transport.stdio: true`",
    });
  });
});
