/**
 * The small YAML reader (src/policy/yaml-lite.ts) must give exactly what the yaml package
 * gives: the same values (YAML 1.2 core schema) and the same positions for every key and
 * value; and it must step aside (the yaml package reads and reports) outside its subset.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ruleSet } from "../../bench/policy-cases.js";
import { compilePolicy } from "../../src/policy/index.js";
import { type Path, PolicySource } from "../../src/policy/source.js";

const root = join(import.meta.dirname, "../..");

/** Every path in a value, and for each a missing child, so fallback positions are compared too. */
function paths(v: unknown, at: Path = []): Path[] {
  const out: Path[] = [at, [...at, "no_such_key"]];
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) out.push(...paths(v[i], [...at, i]));
  } else if (v !== null && typeof v === "object")
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

/** The lite reader took `text` and agrees with the yaml package on values and positions. */
function agrees(text: string): void {
  const lite = new PolicySource(text, "p.yaml", "lite");
  const yaml = new PolicySource(text, "p.yaml", "yaml");
  expect(yaml.errors).toEqual([]);
  expect(lite.value, "the lite reader stepped aside").not.toBeUndefined();
  expect(lite.value).toEqual(yaml.value);
  for (const p of paths(yaml.value)) {
    expect(lite.pos(p), `value of ${p.join(".")}`).toEqual(yaml.pos(p));
    expect(lite.pos(p, true), `key of ${p.join(".")}`).toEqual(yaml.pos(p, true));
  }
}

/** The lite reader steps aside; the yaml package reads it (maybe with errors). */
function stepsAside(text: string): void {
  expect(new PolicySource(text, "p.yaml", "lite").value).toBeUndefined();
  expect(new PolicySource(text, "p.yaml").reader).toBe("yaml");
}

describe("yaml-lite reads like the yaml package", () => {
  const files = [
    ...readdirSync(join(root, "examples/policies")).map((f) => join(root, "examples/policies", f)),
  ].filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"));

  it.each(files)("%s", (f) => {
    const text = readFileSync(f, "utf8");
    agrees(text);
    expect(new PolicySource(text, f).reader).toBe("lite");
  });

  it.each([9, 20, 500])("the %i-rule bench policy", (n) => agrees(ruleSet(n).yaml));

  const scalars = [
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "true",
    "True",
    "TRUE",
    "false",
    "False",
    "FALSE",
    "tRue",
    "null",
    "Null",
    "NULL",
    "~",
    "nUll",
    "0o17",
    "0o8",
    "0x1F",
    "0x",
    "0xg",
    "017",
    "-017",
    "+12",
    "-0",
    "0",
    "12345678901234567890",
    "1e3",
    "1E3",
    "-1.5e-3",
    ".5",
    "5.",
    "1.0",
    "1.50",
    ".inf",
    "-.inf",
    "+.Inf",
    ".INF",
    ".nan",
    ".NaN",
    ".NAN",
    "nan",
    "inf",
    "1_000",
    "1,000",
    "0b101",
    "12:30",
    "2001-12-14",
    "a:b",
    "a#b",
    "a #b",
    "http://x/y?z#f",
    "calculator/*",
    "system_*",
    "/data/**",
    "- x",
    "'quoted'",
    '"dq"',
    "'it''s'",
    "''",
    '""',
    '"a\\u00e9\\n\\t\\"\\\\"',
    '"\\x41\\U0001F600\\/\\ \\_\\N"',
    "'#not a comment'",
    '"1"',
    "'true'",
    "'null'",
    "a b  c",
    "[a, b, c]",
    "[]",
    "{}",
    "{a: 1, b: [x, 'y'], c: {d: null}}",
    "[1, 2.5, true, ~, '3']",
    "[a, [b, [c]], {k: v}]",
    "é",
    "日本",
    "a\\b",
    "a'b",
    'a"b',
    "-1",
    "-a",
    "x:",
    "key: value",
  ];

  it.each(scalars)("value %s", (s) => {
    const text = `a: ${s}\nb: ${s} # comment\nlist:\n  - ${s}\n  -   ${s}   # c\n`;
    const yaml = new PolicySource(text, "p.yaml", "yaml");
    if (yaml.errors.length > 0 || new PolicySource(text, "p.yaml", "lite").value === undefined) {
      // Outside the subset (or an error): the yaml package alone must read it.
      expect(new PolicySource(text, "p.yaml").reader).toBe("yaml");
      return;
    }
    agrees(text);
  });

  it("2000 generated documents: the same values and positions, or the yaml package reads", () => {
    let seed = 17;
    const r = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const keys = ["a", "name", "uri", "'q k'", '"dq"', "x_1", "allow", "deny", "k-2"];
    const node = (indent: number, depth: number): string => {
      const pad = " ".repeat(indent);
      const shape = depth > 2 ? 0 : Math.floor(r() * 3);
      if (shape === 0) return ` ${pick(scalars)}${r() < 0.2 ? " # note" : ""}\n`;
      const n = 1 + Math.floor(r() * 3);
      let out = "\n";
      const used = new Set<string>();
      for (let i = 0; i < n; i++) {
        if (r() < 0.1) out += r() < 0.5 ? "\n" : `${pad}# comment\n`;
        if (shape === 1) {
          const k = pick(keys);
          if (used.has(k)) continue;
          used.add(k);
          out += `${pad}${k}:${node(indent + 2, depth + 1)}`;
        } else out += `${pad}-${node(indent + 2, depth + 1)}`;
      }
      return out;
    };
    let lite = 0;
    for (let i = 0; i < 2000; i++) {
      const text = `root:${node(2, 0)}`;
      const y = new PolicySource(text, "p.yaml", "yaml");
      const l = new PolicySource(text, "p.yaml", "lite");
      if (l.value === undefined) {
        expect(new PolicySource(text, "p.yaml").reader).toBe("yaml");
        continue;
      }
      lite++;
      expect(y.errors, text).toEqual([]);
      expect(l.value, text).toEqual(y.value);
      for (const p of paths(y.value)) {
        expect(l.pos(p), text).toEqual(y.pos(p));
        expect(l.pos(p, true), text).toEqual(y.pos(p, true));
      }
    }
    expect(lite).toBeGreaterThan(1000);
  });

  it.each([
    "a:\nb: 1\n",
    "a:   # only a comment\nb:\n",
    "a:\n  b:\n    c: 1\n  d: [1]\n",
    "list:\n- a\n- b: 1\n  c: 2\n-\n- ~\n",
    "# head\n\na: 1 # one\n\n# mid\nb:\n  # inner\n  - x\n\n  - y\n",
    "a: 1\n\n\n",
    "'quoted key': 1\n\"dq key\": 2\nk : 3\n",
    "a:\n  - {x: 1, y: [a, b]}\n  - [1, 2]\n",
    "seq:\n  -\n    deep: 1\n  - x\n",
    "a: b\nc:\n  - d\n  -   e\nf: 'g'\n",
  ])("structure %j", (text) => agrees(text));

  it.each([
    "a: &x 1\nb: *x\n", // anchors and aliases
    "a: !!str 1\n", // tags
    "a: |\n  text\n", // block scalars
    "a: >\n  folded\n",
    "a: b\n  c\n", // a multi-line plain scalar
    "a: 'x\n  y'\n",
    "a: [1,\n  2]\n", // multi-line flow
    "---\na: 1\n", // document markers
    "a: 1\n...\n",
    "%YAML 1.2\n---\na: 1\n",
    "? a\n: 1\n", // explicit keys
    "1: a\n", // non-string keys
    "true: a\n",
    "a: 1\na: 2\n", // duplicate keys (the yaml package reports them)
    "a:\tb\n", // tabs
    "a: 1\r\nb: 2\r\n", // CR
    "\ufeffa: 1\n",
    "  a: 1\n", // an indented root
    "a: 1\n  b: 2\n", // bad indentation
    "a: b: c\n",
    "- - a\n",
    "a: {b}\n",
    "a: {b:c}\n",
    'a: "\\q"\n', // an unknown escape
    "__proto__: 1\n",
    "a: [1, 2\n",
  ])("steps aside for %j", (text) => stepsAside(text));

  it("errors stay the yaml package's, located", () => {
    const r = compilePolicy("a: 1\na: 2\n", { file: "dup.yaml" });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.errors[0]).toMatchObject({ file: "dup.yaml", line: 2, code: "policy_syntax" });
  });

  it("located compile errors point at the same line:col either way", () => {
    const text = [
      'version: "1.0"',
      "storage:",
      "  allow:",
      '    - uri: "fs:///a/**"',
      "      acess: [read]",
      "mcp:",
      "  tools:",
      "    allow:",
      "      - nme: x",
      "      - name: y",
      "        parameters: { p: { regex: '(' } }",
      "network:",
      "  allow:",
      "    - host:",
      "",
    ].join("\n");
    expect(new PolicySource(text, "p.yaml").reader).toBe("lite");
    const viaLite = compilePolicy(text, { file: "p.yaml" });
    expect(viaLite.ok).toBe(false);
    // The same text with a tag the lite reader leaves to the yaml package: same errors.
    const viaYaml = compilePolicy(`${text}description: !!str d\n`, { file: "p.yaml" });
    expect(viaYaml.ok).toBe(false);
    if (!viaLite.ok && !viaYaml.ok) {
      expect(viaLite.errors.length).toBeGreaterThan(3);
      expect(viaLite.errors).toEqual(viaYaml.errors);
    }
  });
});
