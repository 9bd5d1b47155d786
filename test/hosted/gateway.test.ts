/**
 * A component as a gateway upstream (`upstreams: [{ name, component, policy }]`): connected
 * in-process, judged by the same policy and audited like any upstream; the component's own
 * policy tightens the limits. A real SDK client over stdio.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { beforeAll, describe, expect, it } from "vitest";
import { CLI, tempDir } from "../mcp/helpers.js";
import { CACHE, watComponent } from "./build.js";

let dir: string;
let hostile: string;

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  hostile = await watComponent("hostile");
  dir = tempDir();
  writeFileSync(
    join(dir, "policy.yaml"),
    'version: "1.0"\nmcp:\n  transport: { stdio: true, http: true }\n  tools:\n    allow: ["tools.ok", "tools.spin"]\n',
  );
  writeFileSync(
    join(dir, "own.yaml"),
    'version: "1.0"\nresources:\n  limits:\n    memory: 4Mi\n    execution_time: 300ms\n',
  );
  writeFileSync(
    join(dir, "warden.yaml"),
    `listen: stdio\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n  - name: calc\n    component: ${JSON.stringify(hostile)}\n    policy: ./own.yaml\n`,
  );
});

describe("a component upstream behind the gateway", () => {
  it("lists and calls its tools through the gateway's policy, audit and limits", {
    timeout: 120_000,
  }, async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "gateway", "--config", join(dir, "warden.yaml")],
      env: { ...process.env, WARDEN_CACHE_DIR: CACHE } as Record<string, string>,
      stderr: "pipe",
    });
    const c = new Client({ name: "gw-component-test", version: "1" });
    await c.connect(transport);
    try {
      const { tools } = await c.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(["tools.ok", "tools.spin"]);
      const ok = (await c.callTool({ name: "tools.ok", arguments: {} })) as {
        structuredContent?: unknown;
      };
      expect(ok.structuredContent).toEqual({ result: 42 });
      // The policy refuses what it does not allow, as for any upstream.
      await expect(c.callTool({ name: "tools.bomb", arguments: {} })).rejects.toThrow(
        /tools\.bomb/,
      );
      // The component's own policy sets the limit: 300 ms.
      const spin = (await c.callTool({ name: "tools.spin", arguments: {} })) as {
        isError?: boolean;
        _meta?: { "warden/error"?: { code: string; details?: { timeout_ms?: number } } };
      };
      expect(spin.isError).toBe(true);
      expect(spin._meta?.["warden/error"]?.code).toBe("timeout");
      expect(spin._meta?.["warden/error"]?.details?.timeout_ms).toBe(300);
    } finally {
      await c.close();
    }
    const audit = readFileSync(join(dir, "audit.jsonl"), "utf8");
    expect(audit).toContain('"tools.ok"');
    expect(audit).toContain('"tools.bomb"');
  });
});
