// Hot reload: a changed policy or config is validated and swapped at once; an invalid new
// version is rejected with its file:line errors and the old one keeps running; rate-limit
// counters survive a swap.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway, ReloadResult } from "../../src/mcp/gateway.js";
import {
  alive,
  type ClientLog,
  FIXTURE_SERVER,
  httpClient,
  startGateway,
  stdioUpstream,
  tempDir,
  until,
  writeGatewayFiles,
} from "./helpers.js";

const policy = (extra: string) => `version: "1.0"
mcp:
  transport: { http: true, stdio: true }
  tools:
    allow:
      - name: add
        max_calls_per_minute: 3
      - echo
${extra}`;

describe("hot reload", () => {
  let gw: Gateway;
  let client: Client;
  let dir: string;
  const log: ClientLog = { roots: [], notifications: [] };
  const reloads: ReloadResult[] = [];
  const config = () =>
    `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nupstreams:\n${stdioUpstream("fx")}`;

  async function nextReload(write: () => void): Promise<ReloadResult> {
    const n = reloads.length;
    write();
    await until(() => reloads.length > n, 10_000, "reload");
    return reloads[reloads.length - 1]!;
  }

  beforeAll(async () => {
    dir = tempDir();
    writeGatewayFiles(dir, config(), policy(""));
    let url: string;
    ({ gw, url } = await startGateway(join(dir, "warden.yaml"), true));
    gw.on("reload", (r: ReloadResult) => reloads.push(r));
    client = await httpClient(url, log);
  });
  afterAll(async () => {
    await client?.close();
    await gw?.stop();
  });

  it("swaps in a valid new policy and tells the client to list again", async () => {
    expect((await client.callTool({ name: "echo", arguments: { text: "a" } })).isError).toBeFalsy();
    await client.callTool({ name: "add", arguments: { a: 1, b: 1 } });
    await client.callTool({ name: "add", arguments: { a: 1, b: 1 } });
    const r = await nextReload(() =>
      writeFileSync(join(dir, "policy.yaml"), policy("    deny: [echo]\n")),
    );
    expect(r.ok).toBe(true);
    await expect(client.callTool({ name: "echo", arguments: { text: "a" } })).rejects.toThrow(
      /Warden denied tools\/call "echo"/,
    );
    await until(
      () => log.notifications.some((n) => n.method === "notifications/tools/list_changed"),
      5000,
      "list_changed",
    );
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(["add"]);
  });

  it("keeps rate-limit counters across the swap", async () => {
    await client.callTool({ name: "add", arguments: { a: 1, b: 1 } });
    await expect(client.callTool({ name: "add", arguments: { a: 1, b: 1 } })).rejects.toThrow(
      /max_calls_per_minute/,
    );
  });

  it("rejects an invalid policy with file:line errors and keeps the old one", async () => {
    const r = await nextReload(() =>
      writeFileSync(join(dir, "policy.yaml"), policy("    deny: [echo]\n  bogus_key: 1\n")),
    );
    expect(r.ok).toBe(false);
    expect(r.errors.join("\n")).toMatch(/policy\.yaml:\d+:\d+/);
    expect(r.errors.join("\n")).toMatch(/bogus_key/);
    await expect(client.callTool({ name: "echo", arguments: { text: "a" } })).rejects.toThrow(
      /Warden denied/,
    );
  });

  it("rejects an invalid config with file:line errors and keeps running", async () => {
    const r = await nextReload(() =>
      writeFileSync(join(dir, "warden.yaml"), `${config()}auditt: {}\n`),
    );
    expect(r.ok).toBe(false);
    expect(r.errors.join("\n")).toMatch(
      /warden\.yaml:\d+:\d+ auditt: unknown key "auditt" in warden\.yaml \(did you mean "audit"\?\)/,
    );
    await expect(client.callTool({ name: "echo", arguments: { text: "a" } })).rejects.toThrow(
      /Warden denied/,
    );
  });

  it("adds and removes upstreams in an open session", async () => {
    const extra = `  - name: extra\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(FIXTURE_SERVER)}]\n    prefix: true\n`;
    const plain = config().replace("    args:", "    prefix: false\n    args:");
    writeFileSync(join(dir, "policy.yaml"), policy("      - extra__echo\n"));
    const r = await nextReload(() => writeFileSync(join(dir, "warden.yaml"), `${plain}${extra}`));
    expect(r.ok, r.errors.join("\n")).toBe(true);
    await until(
      async () => (await client.listTools()).tools.some((t) => t.name === "extra__echo"),
      10_000,
      "extra__echo",
    );
    expect(
      (await client.callTool({ name: "extra__echo", arguments: { text: "new" } })).content,
    ).toEqual([{ type: "text", text: "new" }]);
    expect((await client.callTool({ name: "echo", arguments: { text: "old" } })).content).toEqual([
      { type: "text", text: "old" },
    ]);
    const session = [...gw.sessions][0]!;
    const pid = session.upstreams().find((u) => u.name === "extra")!.pid!;
    const back = await nextReload(() => writeFileSync(join(dir, "warden.yaml"), plain));
    expect(back.ok).toBe(true);
    expect(session.upstreams().map((u) => u.name)).toEqual(["fx"]);
    await until(() => !alive(pid), 10_000, "removed upstream to exit");
    await expect(
      client.callTool({ name: "extra__echo", arguments: { text: "x" } }),
    ).rejects.toThrow(/Unknown tool/);
  });

  it("accepts the fixed files again", async () => {
    writeFileSync(join(dir, "warden.yaml"), config());
    const r = await nextReload(() => writeFileSync(join(dir, "policy.yaml"), policy("")));
    expect(r.ok).toBe(true);
    expect((await client.callTool({ name: "echo", arguments: { text: "b" } })).content).toEqual([
      { type: "text", text: "b" },
    ]);
  });
});
