import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type CodeSite, findErrorCodes } from "../../scripts/error-codes.js";

/** Every `src/<layer>/codes.ts` exports objects of `code: summary` (the in-code summaries). */
async function summarised(): Promise<Map<string, string>> {
  const codes = new Map<string, string>();
  for (const layer of readdirSync("src", { withFileTypes: true })) {
    if (!layer.isDirectory()) continue;
    if (!readdirSync(`src/${layer.name}`).includes("codes.ts")) continue;
    const mod = (await import(`../../src/${layer.name}/codes.ts`)) as Record<string, unknown>;
    for (const value of Object.values(mod)) {
      if (typeof value !== "object" || value === null) continue;
      for (const code of Object.keys(value)) {
        expect(
          codes.has(code),
          `error code "${code}" is defined twice (again in ${layer.name})`,
        ).toBe(false);
        codes.set(code, layer.name);
      }
    }
  }
  return codes;
}

/**
 * Codes documented in docs/errors.md: the first column of its tables, in backticks. Those of
 * the "Decision codes" section are verdicts, not errors (`decisions`); all others are errors.
 */
function documented(): { errors: string[]; decisions: string[] } {
  const md = readFileSync("docs/errors.md", "utf8");
  const at = md.indexOf("\n## Decision codes");
  const codes = (text: string) =>
    [...text.matchAll(/^\|\s*`([a-z0-9_.]+)`\s*\|/gm)].map((m) => m[1]!);
  return at < 0
    ? { errors: codes(md), decisions: [] }
    : { errors: codes(md.slice(0, at)), decisions: codes(md.slice(at)) };
}

const made: CodeSite[] = findErrorCodes("src");
const where = (code: string) =>
  made
    .filter((s) => s.code === code)
    .map((s) => `${s.file}:${s.line}`)
    .join(", ");

describe("error codes", () => {
  it("finds codes where the source makes them (a planted sample)", () => {
    for (const code of ["yaml_syntax", "threw", "policy_type", "upstream_timeout", "tool_hidden"])
      expect(where(code), code).not.toBe("");
  });

  it("every code the source makes is in docs/errors.md", () => {
    const doc = documented();
    const known = new Set([...doc.errors, ...doc.decisions]);
    const missing = [...new Set(made.map((s) => s.code))].filter((c) => !known.has(c)).sort();
    expect(
      missing.map((c) => `${c} (${where(c)})`),
      "codes made in src/ but not documented in docs/errors.md",
    ).toEqual([]);
  });

  it("every code in docs/errors.md is made somewhere in src/ (no stale entries)", () => {
    const doc = documented();
    const found = new Set(made.map((s) => s.code));
    expect([...doc.errors, ...doc.decisions].filter((c) => !found.has(c))).toEqual([]);
  });

  it("docs/errors.md lists every code once, and the codes.ts summaries match its error tables", async () => {
    const doc = documented();
    const all = [...doc.errors, ...doc.decisions];
    expect(new Set(all).size, "a code is listed twice in docs/errors.md").toBe(all.length);
    expect([...doc.errors].sort()).toEqual([...(await summarised()).keys()].sort());
  });

  it("codes are stable snake_case", () => {
    const doc = documented();
    for (const code of [...doc.errors, ...doc.decisions]) expect(code).toMatch(/^[a-z][a-z0-9_]*$/);
  });
});
