/**
 * Attacker test: a component whose result fits its memory but whose JSON would not fit the
 * process. A 100,000,000-byte `list<u8>` became an array of 100 million numbers and its JSON
 * (twice: the text and the structured content), and the process died of heap exhaustion on the
 * first call. The result's JSON is now bounded (MAX_RESULT_JSON_BYTES, 16 MiB, as the gateway
 * bounds an upstream's answer): counted as it is converted, refused before a list is copied,
 * with an error saying what to do; the next call is served.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_RESULT_JSON_BYTES } from "../../src/hosted/convert.js";
import { HostedServer } from "../../src/hosted/server.js";
import { tempDir } from "../mcp/helpers.js";
import { CACHE, watComponent } from "./build.js";

type Answer = {
  isError?: boolean;
  structuredContent?: { result: unknown };
  content: { text: string }[];
};

let h: HostedServer;

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  const comp = await watComponent("bigresult");
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

describe("a component's result larger than its JSON may be", () => {
  for (const tool of ["tools.bytes", "tools.text"])
    it(`${tool} (100,000,000 elements) is refused naming the bound; the process goes on`, {
      timeout: 60_000,
    }, async () => {
      const a = (await h.call(tool, {})) as Answer;
      expect(a.isError).toBe(true);
      expect(a.content[0]!.text).toContain(`over ${MAX_RESULT_JSON_BYTES} bytes`);
      expect(a.content[0]!.text).toContain("return less");
    });

  it("a result within the bound is answered whole", { timeout: 60_000 }, async () => {
    const a = (await h.call("tools.some", {})) as Answer;
    expect(a.isError).toBeUndefined();
    expect((a.structuredContent!.result as number[]).length).toBe(4_000_000);
  });
});
