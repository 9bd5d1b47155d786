import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/** Every `src/<layer>/codes.ts` exports one object of `code: summary`. */
async function allCodes(): Promise<Map<string, string>> {
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

/** Codes documented in docs/errors.md: the first column of its tables, in backticks. */
function documentedCodes(): string[] {
  const md = readFileSync("docs/errors.md", "utf8");
  return [...md.matchAll(/^\|\s*`([a-z0-9_.]+)`\s*\|/gm)].map((m) => m[1]!);
}

describe("error codes", () => {
  it("docs/errors.md lists every code exactly once, and nothing else", async () => {
    const codes = await allCodes();
    const documented = documentedCodes();
    expect(new Set(documented).size, "a code is listed twice in docs/errors.md").toBe(
      documented.length,
    );
    expect([...documented].sort()).toEqual([...codes.keys()].sort());
  });

  it("codes are stable snake_case", async () => {
    for (const code of (await allCodes()).keys()) expect(code).toMatch(/^[a-z][a-z0-9_]*$/);
  });
});
