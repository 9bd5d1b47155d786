/**
 * Attacker test: a component whose result fits its memory but whose JSON would not fit the
 * process. A 100,000,000-byte `list<u8>` became an array of 100 million numbers and its JSON
 * (twice: the text and the structured content), and the process died of heap exhaustion on the
 * first call. The result's JSON is now bounded (MAX_RESULT_JSON_BYTES, 16 MiB, as the gateway
 * bounds an upstream's answer): counted as it is converted, refused before a list is copied,
 * with an error saying what to do; the next call is served. And 100,000,000 booleans (100 MB of
 * the component's memory) made jco's glue push them onto one array: the worker's heap ran out
 * while it grew, which on Node 20 ends the whole process, not the worker. The glue now checks
 * every length it reads from a component's memory (MAX_LIFTED_LENGTH) before it lifts.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_RESULT_JSON_BYTES } from "../../src/hosted/convert.js";
import { HostedServer } from "../../src/hosted/server.js";
import { MAX_LIFTED_LENGTH } from "../../src/sandbox/component/transpile.js";
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
  it("tools.bytes (10,000,000 bytes: 20 MB of JSON) is refused naming the bound; the process goes on", {
    timeout: 60_000,
  }, async () => {
    const a = (await h.call("tools.bytes", {})) as Answer;
    expect(a.isError).toBe(true);
    expect(a.content[0]!.text).toContain(`over ${MAX_RESULT_JSON_BYTES} bytes`);
    expect(a.content[0]!.text).toContain("return less");
  });

  it("tools.text (a string of 100,000,000 bytes) is refused before it is decoded", {
    timeout: 60_000,
  }, async () => {
    const a = (await h.call("tools.text", {})) as Answer;
    expect(a.isError).toBe(true);
    expect(a.content[0]!.text).toContain(
      `more than the ${MAX_LIFTED_LENGTH} Warden takes out of a component`,
    );
  });

  it("tools.bools (100,000,000 booleans) is refused before jco's glue builds the array; the process goes on", {
    timeout: 60_000,
  }, async () => {
    // the glue pushed 100 million booleans onto one array: the worker's heap ran out while it
    // grew, which ends the whole process on Node 20 (not just the worker)
    const a = (await h.call("tools.bools", {})) as Answer;
    expect(a.isError).toBe(true);
    expect(a.content[0]!.text).toContain(
      `more than the ${MAX_LIFTED_LENGTH} Warden takes out of a component`,
    );
  });

  it("a result within the bound is answered whole", { timeout: 60_000 }, async () => {
    const a = (await h.call("tools.some", {})) as Answer;
    expect(a.isError).toBeUndefined();
    expect((a.structuredContent!.result as number[]).length).toBe(4_000_000);
  });
});
