// An HTTP upstream with `client: sdk`: the SDK's StreamableHTTPClientTransport over Warden's
// node:http fetch (no abort-listener pile-up) carries calls, server→client requests and SSE.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import { type FixtureHttp, startFixtureHttp } from "../fixtures/mcp-server/http.mjs";
import { httpClient, startGateway, tempDir, writeGatewayFiles } from "./helpers.js";

describe("HTTP upstream through the SDK's client transport", () => {
  let fixture: FixtureHttp;
  let gw: Gateway;
  let client: Client;

  beforeAll(async () => {
    fixture = await startFixtureHttp({ name: "sdkup" });
    const dir = tempDir();
    const cfg = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nupstreams:\n  - name: up\n    url: ${fixture.url}\n    client: sdk\n`,
    );
    let url: string;
    ({ gw, url } = await startGateway(cfg));
    client = await httpClient(url);
  });
  afterAll(async () => {
    await client?.close();
    await gw?.stop();
    await fixture?.close();
  });

  it("calls tools, streams progress and carries sampling", async () => {
    expect(client.getServerVersion()?.name).toBe("sdkup");
    expect(
      (await client.callTool({ name: "echo", arguments: { text: "via sdk" } })).content,
    ).toEqual([{ type: "text", text: "via sdk" }]);
    const progress: number[] = [];
    await client.callTool({ name: "slow", arguments: { ms: 60, steps: 3 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(progress.slice(0, 2)).toEqual([1, 2]);
    const s = await client.callTool({ name: "sample", arguments: { prompt: "hi" } });
    expect(JSON.stringify(s.structuredContent)).toContain("sampled:");
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    for (let i = 0; i < 30; i++)
      await client.callTool({ name: "echo", arguments: { text: `n${i}` } });
    await new Promise((r) => setTimeout(r, 50));
    process.off("warning", onWarning);
    expect(warnings).not.toContain("MaxListenersExceededWarning");
    await expect(client.callTool({ name: "stats", arguments: {} })).rejects.toThrow(
      /Warden denied/,
    );
  });
});
