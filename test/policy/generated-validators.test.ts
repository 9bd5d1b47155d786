import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  BUILTIN_KEYS,
  ANNOTATIONS as GEN_ANNOTATIONS,
  AJV_OPTIONS as GEN_OPTIONS,
  generateValidators,
  topSchema as genTop,
  OUT,
  REFS,
} from "../../scripts/gen-validators.mjs";
import { ensureBuiltins } from "../../src/policy/builtins.js";
import { topSchema } from "../../src/policy/compile.js";
import {
  AJV_OPTIONS,
  ANNOTATIONS,
  precompiled,
  shippedRef,
  shippedValidator,
} from "../../src/policy/json-schema.js";
import { permissionTypes } from "../../src/policy/registry.js";

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

describe("the policy's top level", () => {
  it("of the built-in sections is compiled at build time (a host's sections fall back to ajv)", () => {
    ensureBuiltins();
    const top = topSchema(permissionTypes());
    expect(top).toEqual(genTop(BUILTIN_KEYS));
    expect(precompiled(top)).toBeTypeOf("function");
    expect(precompiled(genTop([...BUILTIN_KEYS, "acme"]))).toBeUndefined();
  });
});
