/**
 * The tests `npm run mutation` (Stryker, stryker.config.mjs) runs against each mutant of
 * src/policy/canon/: the policy tests, which pin what canonicalization does, less the two that
 * test the policy reader and the CLI (yaml-reader: a 600-text differential test; cli: spawns the
 * built CLI, which does not see a mutant): every compile reaches canon/, so each mutant would
 * re-run them for nothing. While working on
 * one file, MUTATION_TESTS (comma-separated globs) narrows them, e.g.
 * `MUTATION_TESTS='test/policy/canon-ip*.test.ts' npm run mutation -- --mutate src/policy/canon/ip.ts`.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: process.env.MUTATION_TESTS?.split(",") ?? ["test/policy/**/*.test.ts"],
    exclude: ["test/policy/yaml-reader.test.ts", "test/policy/cli.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
