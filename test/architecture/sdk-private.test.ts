import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** Every .ts file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory()
      ? sources(join(dir, d.name))
      : d.name.endsWith(".ts")
        ? [join(dir, d.name)]
        : [],
  );
}

describe("the gateway uses the MCP SDK through its public API only", () => {
  it("no source reads or patches an SDK object's private fields (_readBuffer, _process, …)", () => {
    const found: string[] = [];
    for (const f of sources("src"))
      for (const [i, line] of readFileSync(f, "utf8").split("\n").entries())
        if (/\b_(readBuffer|process|serverParams|stderrStream|transport)\b/.test(line))
          found.push(`${f}:${i + 1}: ${line.trim()}`);
    expect(found).toEqual([]);
  });
});
