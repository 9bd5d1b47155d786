/**
 * The JavaScript example component (examples/components/kitchen, componentize-js): built from
 * source at test time by its build.mjs (test/hosted/build.ts: cached under test/.build/hosted/
 * by the hash of its sources and the componentize-js version, so only the first run on a
 * machine pays the build), served by `warden serve` over stdio and by the gateway as a
 * `component:` upstream, called by a real SDK client.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { beforeAll, describe, expect, it } from "vitest";
import { CLI, ROOT } from "../mcp/helpers.js";
import { CACHE, kitchenComponent } from "./build.js";

const POLICY = join(ROOT, "examples", "components", "kitchen", "policy.yaml");
const ENV = { ...process.env, WARDEN_CACHE_DIR: CACHE } as Record<string, string>;
let file = "";

beforeAll(() => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  file = kitchenComponent();
}, 600_000);

type Answer = {
  structuredContent?: { result?: unknown };
  isError?: boolean;
  content: { text: string }[];
};

async function connect(args: string[]): Promise<Client> {
  const t = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, ...args],
    env: ENV,
    stderr: "pipe",
  });
  const c = new Client({ name: "kitchen-test", version: "1" });
  await c.connect(t);
  return c;
}

// The first call instantiates the component in a worker: on a cold cache that instruments the
// ~12 MB JavaScript engine once (tens of seconds on a loaded machine); later runs read it from
// the cache. The SDK's default request timeout (60 s) is too short for that first time.
const call = async (c: Client, name: string, args: Record<string, unknown>) =>
  (await c.callTool({ name, arguments: args }, undefined, {
    timeout: 280_000,
  })) as unknown as Answer;

/** What both ways of serving must answer. */
async function exercise(c: Client): Promise<void> {
  expect(await call(c, "types.half", { n: 8 })).toMatchObject({ structuredContent: { result: 4 } });
  const odd = await call(c, "types.half", { n: 7 });
  expect(odd.isError).toBe(true);
  expect(odd.content[0]!.text).toBe('"7 is odd"');
  const shapes = await call(c, "types.shapes", {
    p: { x: 1, y: -2 },
    s: { tag: "rect", val: { x: 3, y: 4 } },
    c: "dark-blue",
    f: { read: true, exec: true },
  });
  expect(shapes.structuredContent).toEqual({
    result: [
      { x: 1, y: -2 },
      { tag: "rect", val: { x: 3, y: 4 } },
      "dark-blue",
      { read: true, write: false, exec: true },
    ],
  });
  expect((await call(c, "add", { a: 40, b: 2 })).structuredContent).toEqual({ result: 42 });
}

describe("a JavaScript component (componentize-js) as MCP tools", () => {
  it("warden serve lists its tools with their WIT docs and calls them", {
    timeout: 300_000,
  }, async () => {
    const c = await connect(["serve", file, "--policy", POLICY, "--workers", "1"]);
    try {
      const { tools } = await c.listTools();
      expect(tools.map((t) => t.name)).toContain("types.half");
      expect(tools.find((t) => t.name === "types.half")?.description).toBe("Fails when n is odd.");
      await exercise(c);
      // Arguments are checked before the component runs.
      const bad = await call(c, "types.half", { n: -1 });
      expect(bad.isError).toBe(true);
      expect(bad.content[0]!.text).toMatch(/hosted_invalid_arguments/);
    } finally {
      await c.close();
    }
  });

  it("works as a gateway `component:` upstream", { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "warden-kitchen-gw-"));
    writeFileSync(
      join(dir, "policy.yaml"),
      'version: "1.0"\nmcp:\n  transport: { stdio: true }\n  tools:\n    allow: ["types.*", "add"]\n',
    );
    writeFileSync(
      join(dir, "warden.yaml"),
      `listen: stdio\npolicy: ./policy.yaml\nupstreams:\n  - name: kitchen\n    component: ${JSON.stringify(file)}\n    policy: ${JSON.stringify(POLICY)}\n`,
    );
    const c = await connect(["gateway", "--config", join(dir, "warden.yaml")]);
    try {
      await exercise(c);
    } finally {
      await c.close();
    }
  });
});
