// An upstream that dies is reported to callers (-32004, naming it) and restarted with backoff,
// without taking the other upstream down; the client is told to list again.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import {
  alive,
  type ClientLog,
  httpClient,
  startGateway,
  stdioUpstream,
  tempDir,
  until,
  writeGatewayFiles,
} from "./helpers.js";

describe("upstream crash and restart", () => {
  let gw: Gateway;
  let client: Client;
  const log: ClientLog = { roots: [], notifications: [] };

  beforeAll(async () => {
    const dir = tempDir();
    const cfg = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nrestart: { initial_ms: 400, max_ms: 2000 }\nupstreams:\n${stdioUpstream("a")}${stdioUpstream("b")}`,
    );
    let url: string;
    ({ gw, url } = await startGateway(cfg));
    client = await httpClient(url, log);
  });
  afterAll(async () => {
    await client?.close();
    await gw?.stop();
  });

  it("reports the dead upstream, keeps the other, and restarts it", async () => {
    const session = [...gw.sessions][0]!;
    const a = () => session.upstreams().find((u) => u.name === "a")!;
    const pid = a().pid!;
    process.kill(pid, "SIGKILL");
    await until(() => a().state === "down", 5000, "upstream a down");
    const e = await client
      .callTool({ name: "a__echo", arguments: { text: "x" } })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(McpError);
    expect((e as McpError).code).toBe(-32004);
    expect((e as McpError).message).toMatch(/Upstream "a" is unavailable/);
    expect(
      (await client.callTool({ name: "b__echo", arguments: { text: "still here" } })).content,
    ).toEqual([{ type: "text", text: "still here" }]);
    const tools = await client.listTools();
    expect(tools.tools.every((t) => t.name.startsWith("b__"))).toBe(true);
    await until(() => a().state === "up" && a().restarts === 1, 10_000, "upstream a restarted");
    expect(a().pid).not.toBe(pid);
    expect(alive(pid)).toBe(false);
    await until(
      () => log.notifications.some((n) => n.method === "notifications/tools/list_changed"),
      5000,
      "list_changed",
    );
    expect(
      (await client.callTool({ name: "a__echo", arguments: { text: "back" } })).content,
    ).toEqual([{ type: "text", text: "back" }]);
  });
});
