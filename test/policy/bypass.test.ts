/**
 * The canonicalization bypass corpus: every attempt must be denied (by the deny rule it tries
 * to dodge, or as "not canonical"). Control cases prove the policy is not deny-all.
 */
import { describe, expect, it } from "vitest";
import { type CompiledPolicy, compilePolicy } from "../../src/policy/index.js";

const POLICY = `
version: "1.0"
storage:
  allow:
    - uri: "fs:///srv/app/**"
      access: [read, write]
  deny:
    - uri: "fs:///srv/app/secrets/**"
    - uri: "fs:///srv/app/café/**"
    - uri: "fs:///etc/**"
network:
  allow:
    - host: "*.example.com"
    - host: "api.partner.io"
    - cidr: 10.0.0.0/8
    - host: "*"
      schemes: [https]
  deny:
    - host: localhost
    - cidr: 127.0.0.0/8
    - cidr: 169.254.169.254/32
    - cidr: "::1/128"
    - host: internal.example.com
    - host: bücher.example.com
environment:
  allow: ["*"]
  deny: ["AWS_*"]
mcp:
  tools:
    allow: ["*"]
    deny: ["system_*", "rm_rf"]
  prompts:
    allow: ["*"]
    deny: ["debug_*"]
`;

const CI_POLICY = `
version: "1.0"
storage:
  case_insensitive: true
  allow:
    - uri: "fs:///srv/app/**"
      access: [read]
  deny:
    - uri: "fs:///srv/app/secrets/**"
    - uri: "fs:///etc/**"
`;

function compiled(src: string): CompiledPolicy {
  const r = compilePolicy(src, { file: "bypass.yaml" });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}
const policy = compiled(POLICY);
const ciPolicy = compiled(CI_POLICY);

type A = Record<string, unknown>;
const read = (uri: string): A => ({ kind: "storage.read", uri });
const write = (uri: string): A => ({ kind: "storage.write", uri });
const connect = (host: string, port?: number): A => ({
  kind: "network.connect",
  host,
  ...(port ? { port } : {}),
});
const get = (url: string): A => ({ kind: "http.request", url, method: "GET" });
const tool = (name: string): A => ({ kind: "tool.call", name });

const PATHS: [string, A][] = [
  ["dot-dot out of an allowed tree", read("/srv/app/../../etc/passwd")],
  ["dot segment into a denied dir", read("/srv/app/./secrets/key")],
  ["doubled slash", read("/srv/app//secrets/key")],
  ["trailing slash on a denied dir", read("/srv/app/secrets/")],
  ["the denied dir itself", read("/srv/app/secrets")],
  ["dot inside the denied dir", read("/srv/app/secrets/./key")],
  ["detour through a sibling", read("/srv/app/x/../secrets/key")],
  ["escaping the root", read("/../../../etc/passwd")],
  ["many dot-dots", read("/srv/app/../../../../etc/shadow")],
  ["percent-encoded dots (URI)", read("fs:///srv/app/%2e%2e/%2e%2e/etc/passwd")],
  ["percent-encoded dots (plain path)", read("/srv/app/%2e%2e/%2e%2e/etc/passwd")],
  ["upper-case percent-encoded dots", read("/srv/app/%2E%2E/%2E%2E/etc/passwd")],
  ["double percent-encoding", read("/srv/app/%252e%252e/%252e%252e/etc/passwd")],
  ["percent-encoded slash", read("/srv/app/secrets%2fkey")],
  ["percent-encoded backslash", read("/srv/app/..%5c..%5cetc/passwd")],
  ["percent-encoded letter", read("/srv/app/s%65crets/key")],
  ["overlong UTF-8 dots", read("/srv/app/%c0%ae%c0%ae/etc/passwd")],
  ["NUL byte", read("/srv/app/secrets\u0000/key")],
  ["NUL before an extension", read("/etc/passwd\u0000.txt")],
  ["encoded NUL", read("/srv/app/secrets%00/key")],
  ["backslash separators", read("/srv/app/..\\..\\etc\\passwd")],
  ["backslash into a denied dir", read("/srv/app/secrets\\key")],
  ["NFD spelling of a denied name", read("/srv/app/cafe\u0301/menu")],
  ["zero-width space in a segment", read("/srv/app/secrets\u200b/key")],
  ["right-to-left override", read("/srv/app/\u202esterces/key")],
  ["relative path", read("srv/app/secrets/key")],
  ["file:// URI", read("file:///etc/passwd")],
  ["file://localhost URI", read("file://localhost/etc/passwd")],
  ["upper-case scheme", read("FS:///etc/passwd")],
  ["fs:// without the third slash", read("fs://etc/passwd")],
  ["other scheme", read("http://x/etc/passwd")],
  ["write with dot segments", write("fs:///srv/app/secrets/../secrets/k")],
  ["case on a case-insensitive target", { ...read("/ETC/passwd"), ci: true }],
  ["mixed case into a denied dir", { ...read("/Srv/App/Secrets/key"), ci: true }],
  ["not a string", { kind: "storage.read", uri: ["/srv/app/x"] }],
];

const HOSTS: [string, A][] = [
  ["upper case", connect("LOCALHOST")],
  ["trailing dot", connect("localhost.")],
  ["loopback", connect("127.0.0.1")],
  ["IPv4 as a decimal number", connect("2130706433")],
  ["IPv4 as hex", connect("0x7f000001")],
  ["IPv4 in octal", connect("0177.0.0.1")],
  ["IPv4 short form", connect("127.1")],
  ["IPv4 mixed hex short form", connect("0x7f.1")],
  ["IPv4 with a trailing dot", connect("127.0.0.1.")],
  ["IPv4-mapped IPv6 in brackets", connect("[::ffff:127.0.0.1]")],
  ["IPv4-mapped IPv6 in hex", connect("::ffff:7f00:1")],
  ["IPv6 loopback in brackets", connect("[::1]")],
  ["IPv6 loopback uncompressed", connect("0:0:0:0:0:0:0:1")],
  ["IPv6 loopback with a port", connect("[::1]:8080")],
  ["metadata IP as a number", connect("2852039166")],
  ["metadata IP in hex", connect("0xa9.0xfe.0xa9.0xfe")],
  ["metadata IP short form", connect("169.254.43518")],
  ["metadata IP mapped to IPv6", connect("[::ffff:a9fe:a9fe]")],
  ["denied name, upper case and dot", connect("INTERNAL.EXAMPLE.COM.")],
  ["denied name with a port inside", connect("internal.example.com:443")],
  ["ideographic full stops", connect("internal\u3002example\u3002com")],
  ["full-width letters", connect("\uff49\uff4e\uff54\uff45\uff52\uff4e\uff41\uff4c.example.com")],
  ["IDN in upper case", connect("BÜCHER.example.com")],
  ["IDN as punycode", connect("xn--bcher-kva.example.com")],
  ["IDN decomposed (NFD)", connect("bu\u0308cher.example.com")],
  ["userinfo in a host", connect("api.partner.io@evil.com")],
  ["whitespace around a host", connect(" localhost")],
  ["NUL in a host", connect("localhost\u0000.example.com")],
  ["URL userinfo", get("http://api.partner.io@evil.com/")],
  ["URL backslash trick", get("http://evil.com\\@api.partner.io/")],
  ["URL fragment trick", get("http://evil.com#@api.partner.io/")],
  ["URL with a mapped IPv6 loopback", get("https://[::ffff:7f00:1]/")],
  ["URL with a hex IP", get("https://0x7f.1/")],
  ["URL to localhost with a trailing dot", get("https://localhost./")],
  ["URL with an unknown scheme", get("gopher://api.partner.io/")],
  ["plain http where only https may go anywhere", get("http://evil.com/")],
];

const NAMES: [string, A][] = [
  ["upper case", tool("SYSTEM_exec")],
  ["mixed case", tool("System_Exec")],
  ["zero-width space inside", tool("system\u200b_exec")],
  ["zero-width space in front", tool("\u200bsystem_exec")],
  ["zero-width joiner at the end", tool("system_exec\u200d")],
  ["full-width letters", tool("\uff53\uff59\uff53\uff54\uff45\uff4d_exec")],
  ["long s (NFKC folds it)", tool("\u017fystem_exec")],
  ["full-width and Cyrillic together", tool("\uff53\u0443stem_exec")],
  [
    "allowed tool in a full-width spelling (the server reads another name)",
    tool("\uff43alculator"),
  ],
  ["soft hyphen", tool("sys\u00adtem_exec")],
  ["right-to-left override", tool("\u202esystem_exec")],
  ["variation selector", tool("system_exec\ufe0f")],
  ["NUL", tool("system_exec\u0000")],
  ["leading space", tool(" system_exec")],
  ["trailing tab", tool("system_exec\t")],
  ["exact deny in upper case", tool("RM_RF")],
  ["byte-order mark", tool("\ufeffrm_rf")],
  ["tag character", tool("rm_rf\u{e0001}")],
  ["Hangul filler", tool("rm_rf\u3164")],
  ["word joiner", tool("rm\u2060_rf")],
  ["combining mark after the prefix", tool("system_exe\u0301c")],
  ["list visibility, upper case", { kind: "tool.list", name: "SYSTEM_exec" }],
  ["prompt in upper case", { kind: "prompt.get", name: "DEBUG_dump" }],
  ["prompt with zero-width space", { kind: "prompt.get", name: "debug\u200b_dump" }],
  ["env key in lower case", { kind: "env.read", key: "aws_secret_access_key" }],
  ["env key with zero-width space", { kind: "env.read", key: "AWS\u200b_SECRET" }],
  ["env key in full-width letters", { kind: "env.read", key: "\uff21\uff37\uff33_SECRET" }],
  ["name that is not a string", { kind: "tool.call", name: { toString: "system_exec" } }],
];

const prompt = (name: string): A => ({ kind: "prompt.get", name });
const env = (key: string): A => ({ kind: "env.read", key });

/** Look-alike letters from other scripts: each is judged by its skeleton, which a deny hits. */
const CONFUSABLES: [string, A, string][] = [
  ["Cyrillic s", tool("\u0455ystem_exec"), "system_exec"],
  ["Cyrillic e", tool("syst\u0435m_exec"), "system_exec"],
  ["Cyrillic capital S, upper case", tool("\u0405YSTEM_EXEC"), "system_exec"],
  ["Greek capital tau in upper case", tool("SYS\u03a4EM_EXEC"), "system_exec"],
  ["Latin small capital Y", tool("s\u028fstem_exec"), "system_exec"],
  [
    "every letter it can swap",
    tool("\u0455\u0443\u0455t\u0435m_\u0435\u0445\u0435c"),
    "system_exec",
  ],
  ["Cyrillic ghe for r, exact deny", tool("\u0433m_rf"), "rm_rf"],
  ["list visibility", { kind: "tool.list", name: "\u0455ystem_exec" }, "system_exec"],
  ["prompt, Cyrillic e", prompt("d\u0435bug_dump"), "debug_dump"],
  ["prompt, Cyrillic komi de", prompt("\u0501ebug_dump"), "debug_dump"],
  ["prompt, Greek upsilon", prompt("deb\u03c5g_dump"), "debug_dump"],
  [
    "completion of a look-alike prompt",
    { kind: "completion.complete", ref: { type: "ref/prompt", name: "d\u0435bug_x" } },
    "debug_x",
  ],
  ["env key, Cyrillic A", env("\u0410WS_SECRET_ACCESS_KEY"), "aws_secret_access_key"],
  ["env key, Cherokee W", env("A\u13b3S_KEY"), "aws_key"],
  ["env key, Cyrillic S", env("AW\u0405_KEY"), "aws_key"],
];

const CONTROLS: [string, A][] = [
  ["allowed path", read("/srv/app/data/report.csv")],
  ["allowed path after canonicalization", read("fs:///srv/app/./data//report.csv")],
  ["allowed subdomain", connect("api.example.com")],
  ["allowed CIDR by decimal form", connect("167772161")],
  ["allowed https anywhere", get("https://evil.com/")],
  ["allowed tool", tool("calculator")],
  ["allowed env key", { kind: "env.read", key: "HOME" }],
  // Non-Latin names that look like nothing denied still pass the allow `*`.
  [
    "Cyrillic tool name",
    tool("\u043e\u0442\u0447\u0451\u0442_\u0441\u043a\u0430\u0447\u0430\u0442\u044c"),
  ],
  ["Greek tool name", tool("\u03bb\u03cc\u03b3\u03bf\u03c2")],
  ["Japanese tool name", tool("\u691c\u7d22")],
  ["accented Latin, not a look-alike", tool("s\u00fdstem_exec")],
  ["Cyrillic prompt name", prompt("\u043f\u0440\u0438\u0432\u0435\u0442")],
  ["Cyrillic env key", env("\u041f\u0423\u0422\u042c")],
];

describe("bypass corpus: every attempt is denied", () => {
  const all = [...PATHS, ...HOSTS, ...NAMES, ...CONFUSABLES.map(([n, a]) => [n, a] as const)];
  it("has at least 60 attempts", () => {
    expect(all.length).toBeGreaterThanOrEqual(60);
  });
  describe.each([
    ["paths", PATHS],
    ["hosts", HOSTS],
    ["names", NAMES],
  ] as const)("%s", (_group, cases) => {
    it.each(cases)("%s", (_name, action) => {
      const { ci, ...a } = action as A & { ci?: boolean };
      const d = (ci ? ciPolicy : policy).check(a, { explain: true });
      expect(d.allowed, JSON.stringify(d)).toBe(false);
      expect(d.code).not.toBe("allow_rule");
      expect(d.reason.length).toBeGreaterThan(0);
      // Asked again, the answer comes from what the policy remembers of this input: the same.
      const again = (ci ? ciPolicy : policy).check(a, { explain: true });
      expect(withoutTime(again)).toEqual(withoutTime(d));
      expect((ci ? ciPolicy : policy).check(a)).toEqual({ ...d, explanation: undefined });
    });
  });
});

function withoutTime(d: ReturnType<CompiledPolicy["check"]>): unknown {
  return { ...d, explanation: { ...d.explanation, time_ns: 0 } };
}

describe("bypass corpus: look-alike names are denied by the rule they imitate", () => {
  it.each(CONFUSABLES)("%s", (_name, action, looksLike) => {
    const d = policy.check(action);
    expect(d.allowed, JSON.stringify(d)).toBe(false);
    expect(d.code).toBe("deny_rule");
    expect(d.ruleId).toMatch(/^(mcp\.(tools|prompts)|environment)\.deny\[\d\]$/);
    expect(d.reason).toContain(`looks like "${looksLike}" (confusable letters)`);
  });
});

describe("bypass corpus controls: legitimate requests still pass", () => {
  it.each(CONTROLS)("%s", (_name, action) => {
    const d = policy.check(action);
    expect(d.allowed, JSON.stringify(d)).toBe(true);
  });
});

describe("what the attempts canonicalize to", () => {
  it.each([
    [connect("2130706433"), "127.0.0.1"],
    [connect("[::ffff:127.0.0.1]"), "127.0.0.1"],
    [connect("0:0:0:0:0:0:0:1"), "::1"],
    [connect("BÜCHER.example.com."), "xn--bcher-kva.example.com"],
    [read("/srv/app//x/./y/../z/"), "/srv/app/x/z"],
    [read("/../../etc"), "/etc"],
    // A name is judged as written (NFKC-changed names are refused, not folded).
    [tool("\u043e\u0442\u0447\u0451\u0442"), "\u043e\u0442\u0447\u0451\u0442"],
  ] as const)("%j", (action, want) => {
    const input = policy.check(action, { explain: true }).explanation?.input as Record<
      string,
      string
    >;
    expect(input.host ?? input.uri ?? input.name).toBe(want);
  });
});
