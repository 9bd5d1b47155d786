import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 90_000, // a hang guard only: tests that spawn CLIs take ~5-30 s on a loaded 2-core machine
    hookTimeout: 120_000,
    pool: "forks",
    // Vitest's default is one worker per CPU minus one: a single worker on the 2-core CI machine,
    // where most test time is spent waiting on child processes (gateways, MCP servers, compilers).
    // Two workers use both cores; the timeouts above leave room for the load that brings.
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ["default", ["json", { outputFile: "test/.build/vitest-results.json" }]],
  },
});
