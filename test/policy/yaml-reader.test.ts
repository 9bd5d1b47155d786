/**
 * A policy is read by one YAML reader, the `yaml` package (JSON text by JSON.parse): a text
 * that is not YAML is refused with its position, never read as something else. Issue 18: the
 * YAML subset reader that was here read `{ name: - shell_* }` as the name `- shell_*`, so a
 * deny list an editor marks as broken compiled and `shell_exec` was allowed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { ruleSet } from "../../bench/policy-cases.js";
import { compilePolicy } from "../../src/policy/index.js";
import { PolicySource } from "../../src/policy/source.js";

const root = join(import.meta.dirname, "../..");

const NOT_YAML = `version: "1.0"
mcp:
  tools:
    allow:
      - name: "*"
    deny: [{ name: "system_*" }, { name: - shell_* }]
`;

describe("a policy that is not YAML is refused, with its position", () => {
  it("compile refuses the flow mapping holding a block sequence", () => {
    const r = compilePolicy(NOT_YAML, { file: "p.yaml" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]).toMatchObject({
      file: "p.yaml",
      line: 6,
      col: 42,
      code: "policy_syntax",
      message: "Block collections are not allowed within flow collections",
    });
  });

  it("`warden policy check` refuses it and names file:line:col", () => {
    const dir = mkdtempSync(join(tmpdir(), "warden-yaml-reader-"));
    const file = join(dir, "policy.yaml");
    writeFileSync(file, NOT_YAML);
    const r = spawnSync(process.execPath, ["dist/cli/main.js", "policy", "check", file], {
      cwd: root,
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")).toContain(
      `${file}:6:42 policy_syntax Block collections are not allowed within flow collections`,
    );
  });

  it("errors in YAML and in JSON keep their line:col", () => {
    const yaml = compilePolicy(`version: "1.0"\nmcp:\n  tools:\n    allow:\n      - nme: a\n`);
    expect(yaml.ok).toBe(false);
    if (!yaml.ok)
      expect(yaml.errors[0]).toMatchObject({ line: 5, col: 9, key: "mcp.tools.allow[0]" });
    const json = compilePolicy(
      `{\n  "version": "1.0",\n  "mcp": { "tools": { "allow": [ { "nme": "a" } ] } }\n}\n`,
    );
    expect(json.ok).toBe(false);
    if (!json.ok)
      expect(json.errors[0]).toMatchObject({ line: 3, col: 34, key: "mcp.tools.allow[0]" });
    // A JSON text with a duplicate key is YAML the `yaml` package refuses, with its position.
    const dup = compilePolicy(`{"version": "1.0", "version": "1"}`);
    expect(dup.ok).toBe(false);
    if (!dup.ok) expect(dup.errors[0]).toMatchObject({ line: 1, col: 20, code: "policy_syntax" });
  });
});

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Characters that change what YAML means. */
const SIGNIFICANT = [..."-:[]{},\"'#&*!|>?%@` \n\t\\"];

/** Inserted inside a flow collection (`[...]`, `{...}`): where a YAML subset reader slips. */
const IN_FLOW = ["- ", ": ", " #", "? ", "! ", "&a ", "*a", " - ", ", -", "|", ">"];

function mutate(text: string, rnd: () => number): string {
  const pick = (n: number) => Math.floor(rnd() * n);
  let out = text;
  for (let k = 1 + pick(3); k > 0; k--) {
    const at = pick(out.length + 1);
    const lines = out.split("\n");
    const line = pick(lines.length);
    const op = pick(10);
    if (op === 0) out = out.slice(0, at) + SIGNIFICANT[pick(SIGNIFICANT.length)] + out.slice(at);
    else if (op === 1) out = out.slice(0, at) + out.slice(at + 1);
    else if (op === 2)
      out = out.slice(0, at) + SIGNIFICANT[pick(SIGNIFICANT.length)] + out.slice(at + 1);
    else if (op === 3) {
      lines.splice(line, 0, lines[line] ?? "");
      out = lines.join("\n");
    } else if (op === 4) {
      const l = lines[line] ?? "";
      lines[line] = pick(2) === 0 ? `  ${l}` : l.replace(/^ {1,2}/, "");
      out = lines.join("\n");
    } else {
      // Something inserted inside a flow collection, as `- shell_*` in the issue.
      const flow = lines.flatMap((l, j) => (/[[{]/.test(l) ? [j] : []));
      if (flow.length === 0) continue;
      const j = flow[pick(flow.length)]!;
      const l = lines[j]!;
      const p = l.search(/[[{]/) + 1 + pick(l.length - l.search(/[[{]/));
      const ins =
        pick(2) === 0 ? SIGNIFICANT[pick(SIGNIFICANT.length)] : IN_FLOW[pick(IN_FLOW.length)];
      lines[j] = l.slice(0, p) + ins + l.slice(p);
      out = lines.join("\n");
    }
  }
  return out;
}

/** What the `yaml` package makes of `text`: its value, or undefined when it refuses it. */
function yamlReads(text: string): { value: unknown } | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return undefined;
  try {
    return { value: doc.toJS({ maxAliasCount: 100 }) };
  } catch {
    return undefined;
  }
}

describe("Warden reads a policy exactly as the yaml package does (differential)", () => {
  const texts = [
    ...readdirSync(join(root, "examples/policies"))
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => readFileSync(join(root, "examples/policies", f), "utf8")),
    readFileSync(join(root, "examples/policy.yaml"), "utf8"),
    readFileSync(join(root, "examples/demo/policy.yaml"), "utf8"),
    ruleSet(20).yaml,
  ];
  /** A fixed budget and seed: every run sees the same mutants. */
  const MUTANTS = 600;

  it(`${MUTANTS} mutated example policies: refused where it refuses, the same value where it reads`, () => {
    const rnd = prng(18);
    let refused = 0;
    for (let i = 0; i < MUTANTS; i++) {
      const text = mutate(texts[i % texts.length]!, rnd);
      const src = new PolicySource(text, "m.yaml");
      let json: { value: unknown } | undefined;
      if (/^\s*\{/.test(text)) {
        try {
          json = { value: JSON.parse(text) };
        } catch {}
      }
      // JSON that JSON.parse takes is read as JSON (a duplicate key goes to the yaml package).
      const want = src.reader === "json" ? json : yamlReads(text);
      if (want === undefined) {
        refused++;
        expect(
          src.errors.length,
          `accepted what the yaml package refuses:\n${text}`,
        ).toBeGreaterThan(0);
        const r = compilePolicy(text, { file: "m.yaml" });
        expect(r.ok).toBe(false);
        if (!r.ok)
          for (const e of r.errors) {
            expect(e.code).toBe("policy_syntax");
            expect(e.line).toBeGreaterThanOrEqual(1);
            expect(e.col).toBeGreaterThanOrEqual(1);
          }
      } else {
        expect(src.errors, text).toEqual([]);
        expect(src.value, `read differently:\n${text}`).toEqual(want.value);
      }
    }
    // The mutants exercise both sides.
    expect(refused).toBeGreaterThan(MUTANTS / 10);
    expect(refused).toBeLessThan(MUTANTS);
  });
});
