import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EXIT, EXIT_EXCEPTION, EXIT_TABLE, exitCodeOf } from "../../src/cli/exit-codes.js";
import { WardenError } from "../../src/core/errors.js";

describe("the one exit-code table", () => {
  it("docs/cli.md shows the same table as src/cli/exit-codes.ts, and its exception", () => {
    const md = readFileSync("docs/cli.md", "utf8");
    const rows = [...md.matchAll(/^\| (\d) \| (.+) \|$/gm)].map((m) => ({
      code: Number(m[1]),
      meaning: m[2],
    }));
    expect(rows).toEqual(EXIT_TABLE.map((r) => ({ code: r.code, meaning: r.meaning })));
    expect(md.replace(/\s+/g, " ")).toContain(EXIT_EXCEPTION);
  });

  it("an error's category decides its code", () => {
    expect(exitCodeOf(new WardenError("denied", "x", { category: "denied" }))).toBe(EXIT.denied);
    expect(exitCodeOf(new WardenError("usage", "x", { category: "usage" }))).toBe(EXIT.usage);
    expect(exitCodeOf(new WardenError("c", "x", { category: "config" }))).toBe(EXIT.usage);
    expect(exitCodeOf(new WardenError("p", "x", { category: "plugin" }))).toBe(EXIT.failure);
    expect(exitCodeOf(new Error("bug"))).toBe(EXIT.failure);
  });
});
