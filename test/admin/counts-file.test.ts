/**
 * counts.json lives under state.dir, where anything with write access to that folder can put
 * what it likes: a counts file that is not JSON, of another version, or with hostile entries
 * (prototype keys, negative or fractional counts, bad dates) gives no counts for those entries,
 * says why, and never throws.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CountsFile } from "../../src/rules/registry/counts.js";

const dir = mkdtempSync(join(tmpdir(), "warden-counts-"));

async function load(text: string) {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, text);
  const warnings: string[] = [];
  const counts = await new CountsFile(file, () => ({})).load((w) => warnings.push(w));
  return { counts, warnings };
}

const ok = { sha256: "ab", invocation_count: 3, last_invoked_at: "2026-12-07T10:00:00.000Z" };

describe("a counts file that does not read back", () => {
  it("not JSON, or not version 1: no counts, and a warning saying which", async () => {
    for (const [text, why] of [
      ["{not json", /not JSON/],
      [JSON.stringify({ version: 2, plugins: { a: ok } }), /not a version 1 counts file/],
      [JSON.stringify({ version: 1, plugins: null }), /not a version 1 counts file/],
      ["null", /not a version 1 counts file/],
    ] as const) {
      const r = await load(text);
      expect(r.counts.size).toBe(0);
      expect(r.warnings.join("\n")).toMatch(why);
    }
  });

  it("keeps only well-formed entries: hostile counts and prototype keys are dropped", async () => {
    const plugins = JSON.parse(
      `{"good": ${JSON.stringify(ok)}, "__proto__": ${JSON.stringify(ok)},
        "neg": {"sha256": "ab", "invocation_count": -1, "last_invoked_at": null},
        "frac": {"sha256": "ab", "invocation_count": 1.5, "last_invoked_at": null},
        "huge": {"sha256": "ab", "invocation_count": 1e300, "last_invoked_at": null},
        "date": {"sha256": "ab", "invocation_count": 1, "last_invoked_at": "yesterday"},
        "nosha": {"invocation_count": 1, "last_invoked_at": null}}`,
    );
    const r = await load(JSON.stringify({ version: 1, plugins }));
    expect([...r.counts.keys()].sort()).toEqual(["__proto__", "good"].sort());
    expect(r.counts.get("good")?.invocation_count).toBe(3);
    // a Map: the "__proto__" entry is an entry, not the prototype of anything
    expect(Object.getPrototypeOf(r.counts)).toBe(Map.prototype);
  });
});
