import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ANNOTATIONS as GEN_ANNOTATIONS,
  AJV_OPTIONS as GEN_OPTIONS,
  generateValidators,
  OUT,
  REFS,
} from "../../scripts/gen-validators.mjs";
import {
  AJV_OPTIONS,
  ANNOTATIONS,
  precompiled,
  shippedRef,
  shippedValidator,
} from "../../src/policy/json-schema.js";

describe("build-time validators (src/policy/generated/validators.ts)", () => {
  it("are up to date with schemas/*.schema.json (run `npm run build` or `node scripts/gen-validators.mjs`)", () => {
    expect(readFileSync(OUT, "utf8") === generateValidators()).toBe(true);
  });

  it("are compiled with the options of the run-time fallback", () => {
    expect(GEN_OPTIONS).toEqual(AJV_OPTIONS);
    expect(GEN_ANNOTATIONS).toEqual([...ANNOTATIONS]);
  });

  it("serve every shipped schema and the built-in sections' definitions", () => {
    for (const name of ["warden", "guards", "policy"] as const) {
      expect(shippedValidator(name)).toBe(precompiled({ $ref: shippedRef(name) }));
    }
    for (const def of ["environment", "resources", "runtime", "network", "storage", "mcp"]) {
      const ref = shippedRef("policy", `#/definitions/${def}`);
      expect(Object.values(REFS)).toContain(ref);
      expect(precompiled({ $ref: ref })).toBeTypeOf("function");
    }
    expect(precompiled({ type: "object" })).toBeUndefined();
  });
});
