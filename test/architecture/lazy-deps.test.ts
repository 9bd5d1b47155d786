/**
 * A gateway without `state.redis` or `telemetry.otlp` must not load ioredis or the OpenTelemetry
 * SDK: they cost start-up time on every `warden gateway` and `warden serve` (a config module once
 * imported them through their layer's index). Checked on the built code, as users run it. The
 * probe sees ES module resolution: ioredis (CommonJS) is required on first use by
 * src/state/redis.ts, which test/state/redis-connection.test.ts exercises against a real Redis.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const probe = fileURLToPath(new URL("fixtures/loaded/packages-loaded.mjs", import.meta.url));
const run = promisify(execFile);

// Asynchronous on purpose: a long execFileSync blocks the vitest worker, whose reports to the
// main process then time out (an unhandled error, which turns CI red).
async function packagesLoadedBy(module: string): Promise<string[]> {
  const { stdout } = await run(process.execPath, [probe, `${root}dist/${module}`], {
    encoding: "utf8",
  });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "[]") as string[];
}

describe("optional dependencies load only when configured", () => {
  it.each(["mcp/gateway.js", "mcp/config.js", "cli/commands/gateway.js"])(
    "%s loads neither ioredis nor @opentelemetry/*",
    async (module) => {
      const loaded = await packagesLoadedBy(module);
      expect(loaded.length).toBeGreaterThan(0); // the probe sees packages at all
      expect(loaded.filter((p) => p === "ioredis" || p.startsWith("@opentelemetry/"))).toEqual([]);
    },
  );

  it("telemetry loads the OTLP protobuf exporter only when protocol http/protobuf asks for it", async () => {
    const loaded = await packagesLoadedBy("telemetry/index.js");
    expect(loaded).toContain("@opentelemetry/api");
    expect(loaded).not.toContain("@opentelemetry/exporter-trace-otlp-proto");
  });

  it("the probe does see them when they are loaded", async () => {
    expect(await packagesLoadedBy("telemetry/tracer.js")).toContain("@opentelemetry/api");
  });
});
