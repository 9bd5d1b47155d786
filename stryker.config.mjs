// `npm run mutation`: mutation testing of src/policy/canon/ against test/policy (about 9
// minutes on 2 cores; not part of CI or `npm test`). One file at a time:
//   npm run mutation -- --mutate src/policy/canon/ip.ts --concurrency 1
// Every surviving mutant is listed, with why it is equivalent, in docs/policy.md ("Mutation
// testing").
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: "npm",
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts" },
  plugins: ["@stryker-mutator/vitest-runner"],
  mutate: ["src/policy/canon/**/*.ts"],
  // Mutants in module-level code run once per process: each would need every test re-run.
  ignoreStatic: true,
  coverageAnalysis: "perTest",
  concurrency: 2,
  timeoutMS: 20000,
  reporters: ["clear-text", "progress", "json"],
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  thresholds: { high: 90, low: 80, break: null },
};
