/**
 * Attacker test: a component with one page of memory asks wasi:random for 2^31 - 1 bytes. The
 * shim makes the whole buffer before jco's glue copies it into the component (where it cannot
 * fit), so each such call had its worker make 2 GiB of random bytes: seconds of CPU and GiBs of
 * RSS per call, once per worker at a time. The host now refuses what no component's memory can
 * hold (256 MiB, the largest memory limit) with a trap naming the component, and the next call
 * is served.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostedServer } from "../../src/hosted/server.js";
import { tempDir } from "../mcp/helpers.js";
import { CACHE, watComponent } from "./build.js";

type Answer = { isError?: boolean; structuredContent?: unknown; _meta?: Record<string, unknown> };
const error = (a: Answer) =>
  a._meta?.["warden/error"] as { code?: string; message?: string } | undefined;

let h: HostedServer;

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  const comp = await watComponent("randbomb");
  const policy = join(tempDir(), "policy.yaml");
  writeFileSync(policy, 'version: "1.0"\n');
  h = await HostedServer.open({
    path: comp,
    policies: [policy],
    cacheDir: CACHE,
    pool: { size: 1, graceMs: 200 },
  });
}, 60_000);

afterAll(() => h?.close());

describe("wasi:random: a request for more bytes than any component's memory can hold", () => {
  it("is a trap naming the component and the size, made before any buffer; the next call is served", {
    timeout: 60_000,
  }, async () => {
    const a = (await h.call("tools.bomb", {})) as Answer;
    expect(a.isError).toBe(true);
    expect(error(a)?.code).toBe("hosted_wasi_trap");
    expect(error(a)?.message).toContain(
      'Component "randbomb" asked wasi:random for 2147483647 bytes',
    );
    expect(((await h.call("tools.ok", {})) as Answer).structuredContent).toEqual({ result: 7 });
  });
});
