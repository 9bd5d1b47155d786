/**
 * What name canonicalization (src/policy/canon/name.ts) does, pinned so that a change to any
 * of its checks shows: each case is a name a client could send to dodge a rule, or one that
 * must keep working. (Mutation testing: docs/policy.md, "Mutation testing".)
 */
import { describe, expect, it } from "vitest";
import { isPlainName } from "../../src/policy/canon/name.js";
import { canonicalizeName, compilePolicy, type PolicyDecision } from "../../src/policy/index.js";

function compiled(src: string) {
  const r = compilePolicy(src, { file: "names.yaml" });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

// Deny rules on tools; prompts have no rules, so their names take the no-rules path.
const policy = compiled(`
mcp:
  tools:
    allow: ["*"]
    deny: ["system_*", "rm"]
  prompts:
    allow: []
environment:
  allow: ["*"]
  deny: ["AWS_*"]
`);
const tool = (name: unknown): PolicyDecision =>
  policy.check({ kind: "tool.call", name } as never, { explain: true });

const CONTROL_OR_INVISIBLE = "name contains a control or invisible character";
const SPACE = "name has leading/trailing or non-ASCII whitespace";

describe("names that are canonical as they are", () => {
  it.each(["!", "~", "a", "!tool~", "Tool_1.x-y/z", "a".repeat(300)])(
    "%j is its own canonical form",
    (n) => {
      expect(canonicalizeName(n)).toEqual({ ok: true, value: n });
      expect(tool(n).allowed).toBe(true);
    },
  );

  it("keeps inner ASCII spaces and non-ASCII letters", () => {
    expect(canonicalizeName("a b")).toEqual({ ok: true, value: "a b" });
    expect(canonicalizeName("café")).toEqual({ ok: true, value: "café" });
    expect(tool("run job").allowed).toBe(true);
  });
});

describe("isPlainName: the fast path takes printable ASCII without spaces, and nothing else", () => {
  it("takes each of the 94 printable characters, alone and in a name", () => {
    for (let c = 0x21; c <= 0x7e; c++) {
      const ch = String.fromCharCode(c);
      expect(isPlainName(ch), ch).toBe(true);
      expect(isPlainName(`a${ch}z`), ch).toBe(true);
    }
  });

  it("leaves everything else to canonicalizeName", () => {
    for (const s of ["", " ", "a b", "a\u007f", "\u0020a", "a\u0080", "é", "a\u0000", "\u3000"])
      expect(isPlainName(s), JSON.stringify(s)).toBe(false);
  });
});

describe("names that are refused, never stripped", () => {
  it.each([
    ["", "name is empty"],
    [" system_x", SPACE],
    ["system_x ", SPACE],
    [" ", SPACE],
    ["a\u1680b", SPACE], // OGHAM SPACE MARK: a space NFKC keeps
    ["system\u3000", SPACE], // IDEOGRAPHIC SPACE: NFKC makes it a trailing ASCII space
    ["\u00a0rm", SPACE], // NO-BREAK SPACE: NFKC makes it a leading space
    ["system\u0000_x", CONTROL_OR_INVISIBLE],
    ["system\u007f_x", CONTROL_OR_INVISIBLE],
    ["system\t_x", CONTROL_OR_INVISIBLE],
    ["sys\u200btem_x", CONTROL_OR_INVISIBLE], // zero-width space
    ["sys\u00adtem_x", CONTROL_OR_INVISIBLE], // soft hyphen
    ["system_\u202ex", CONTROL_OR_INVISIBLE], // bidi override
    ["system_x\ufe0f", CONTROL_OR_INVISIBLE], // variation selector
    ["system_x\udb40\udc01", CONTROL_OR_INVISIBLE], // tag character
    ["system_x\ud800", CONTROL_OR_INVISIBLE], // unpaired surrogate
    ["system_x\ue000", CONTROL_OR_INVISIBLE], // private use
    ["system_x\ufffe", CONTROL_OR_INVISIBLE], // noncharacter
    ["system_x\u2028", CONTROL_OR_INVISIBLE], // line separator
    ["r\u3164m", CONTROL_OR_INVISIBLE], // Hangul filler
  ])("%j: %s", (n, reason) => {
    expect(canonicalizeName(n)).toEqual({ ok: false, reason });
    const d = tool(n);
    expect(d).toMatchObject({ allowed: false, code: "not_canonical" });
    expect(d.reason).toBe(`tool.call: ${reason}; denied`);
  });

  it("refuses a name that is not a string", () => {
    expect(canonicalizeName(7)).toEqual({ ok: false, reason: "name must be a string" });
    expect(canonicalizeName(undefined)).toEqual({ ok: false, reason: "name must be a string" });
  });

  it("refuses the same names where no rule names them (the no-rules path)", () => {
    const d = policy.check({ kind: "prompt.get", name: " x" });
    expect(d).toMatchObject({ allowed: false, code: "not_canonical" });
    expect(d.reason).toContain(SPACE);
    expect(policy.check({ kind: "prompt.get", name: "" }).code).toBe("not_canonical");
    expect(policy.check({ kind: "prompt.get", name: "a\u200bb" }).reason).toContain(
      CONTROL_OR_INVISIBLE,
    );
  });
});

describe("a name NFKC would change is refused (the server reads it as written)", () => {
  it("a full-width or compatibility spelling is refused, never folded", () => {
    const notNfkc = (r: ReturnType<typeof canonicalizeName>) =>
      expect(r).toMatchObject({ ok: false, reason: expect.stringContaining("not in NFKC form") });
    notNfkc(canonicalizeName("ｓｙｓｔｅｍ_x"));
    notNfkc(canonicalizeName("ﬁle"));
    notNfkc(canonicalizeName("\u017fystem"));
    notNfkc(canonicalizeName("cafe\u0301")); // decomposed: NFKC composes it
    expect(canonicalizeName("caf\u00e9")).toEqual({ ok: true, value: "caf\u00e9" });
    expect(tool("ｓｙｓｔｅｍ_x")).toMatchObject({ allowed: false, code: "not_canonical" });
    expect(tool("\u33a1")).toMatchObject({ allowed: false, code: "not_canonical" }); // ㎡
    expect(policy.check({ kind: "env.read", key: "ＡＷＳ_KEY" })).toMatchObject({
      allowed: false,
      code: "not_canonical",
    });
  });

  it("an allow rule does not admit a compatibility spelling of its name (found by the gateway fuzz)", () => {
    const p = compiled(`
mcp:
  tools:
    allow: ["echo"]
`);
    expect(p.check({ kind: "tool.call", name: "echo" })).toMatchObject({ allowed: true });
    expect(p.check({ kind: "tool.call", name: "\uff45\uff43\uff48\uff4f" })).toMatchObject({
      allowed: false,
      code: "not_canonical",
    });
  });

  it("NFKC keeps every refused character and makes none (why one check after it is enough)", () => {
    const BAD =
      /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]/u;
    const differ: string[] = [];
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const s = String.fromCodePoint(cp);
      if (BAD.test(s) !== BAD.test(s.normalize("NFKC"))) differ.push(cp.toString(16));
    }
    expect(differ).toEqual([]);
  });
});
