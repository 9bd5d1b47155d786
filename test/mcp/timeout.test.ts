// An upstream that never answers no longer holds a request forever (issue 18, 2b): after its
// upstreams[].request_timeout_ms the client gets -32001 naming the upstream and the setting, the
// upstream gets notifications/cancelled for the request, and progress keeps a long call alive.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir, writeGatewayFiles } from "./helpers.js";
import { hostileUpstream, RawGateway } from "./raw-gateway.js";

describe("per-upstream request timeout", () => {
  let gw: RawGateway;
  beforeAll(async () => {
    const cfg = writeGatewayFiles(
      tempDir(),
      `listen: stdio\npolicy: ./policy.yaml\nupstreams:\n${hostileUpstream("h", "    request_timeout_ms: 1500\n")}`,
      `version: "1.0"\nmcp:\n  transport: { stdio: true }\n  tools: { allow: ["*"] }\n`,
    );
    gw = new RawGateway(cfg);
    await gw.initialize();
  });
  afterAll(() => gw?.close());

  it("answers a call the upstream never answers with -32001, and cancels it upstream", async () => {
    const a = await gw.call(1, "hang");
    expect(a.error).toMatchObject({
      code: -32001,
      data: { warden: "upstream_timeout", upstream: "h", timeout_ms: 1500 },
    });
    expect(String((a.error as { message: string }).message)).toMatch(
      /Upstream "h" did not answer tools\/call within 1500 ms \(upstreams\[\]\.request_timeout_ms/,
    );
    const c = (await gw.call(2, "cancelled")) as { result?: { content: { text: string }[] } };
    const ids = JSON.parse(c.result!.content[0]!.text) as unknown[];
    expect(ids).toHaveLength(1);
    expect(typeof ids[0]).toBe("number");
    expect(gw.stderr).toMatch(/upstream "h" did not answer tools\/call within 1500 ms/);
  });

  it("progress notifications reset the timeout", async () => {
    // 25 progress notifications 100 ms apart: 2.5 s in all, more than the 1.5 s timeout
    const a = await gw.request(3, "tools/call", {
      name: "progress_hang",
      arguments: { n: 25, ms: 100 },
      _meta: { progressToken: "p3" },
    });
    expect(a.result).toEqual({ content: [{ type: "text", text: "done" }] });
    expect(gw.messages.filter((m) => m.method === "notifications/progress")).toHaveLength(25);
  });
});
