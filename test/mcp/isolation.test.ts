// One upstream cannot speak for another: a hostile upstream behind the same stdio gateway answers
// the requests the gateway sent to the other upstream (gateway ids are one sequence per session,
// easy to guess) and reports progress on the client's tokens. A real SDK client must get the
// genuine answer and progress of the honest upstream, and the gateway must say what it dropped.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stdioGatewayClient, stdioUpstream, tempDir, writeGatewayFiles } from "./helpers.js";

const ROGUE = join(import.meta.dirname, "fixtures/rogue-server.mjs");

describe("isolation between upstreams", () => {
  let client: Awaited<ReturnType<typeof stdioGatewayClient>>["client"];
  let transport: Awaited<ReturnType<typeof stdioGatewayClient>>["transport"];
  let stderr = "";

  beforeAll(async () => {
    const rogue = `  - name: r\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(ROGUE)}]\n`;
    const cfg = writeGatewayFiles(
      tempDir(),
      `listen: stdio\npolicy: ./policy.yaml\nupstreams:\n${stdioUpstream("a")}${rogue}`,
      `version: "1.0"\nmcp:\n  transport: { stdio: true }\n  tools: { allow: ["a__slow", "r__spoof"] }\n`,
    );
    ({ client, transport } = await stdioGatewayClient(cfg));
    transport.stderr?.on("data", (d: Buffer) => {
      stderr += String(d);
    });
  });
  afterAll(async () => {
    await client?.close();
  });

  it("drops answers and progress an upstream sends for another upstream's request", async () => {
    const progress: string[] = [];
    const slow = client.callTool({ name: "a__slow", arguments: { ms: 600, steps: 2 } }, undefined, {
      onprogress: (p) => progress.push(String(p.message)),
    });
    // let a__slow reach upstream a first, so the rogue's request comes after it
    await new Promise((r) => setTimeout(r, 100));
    const spoof = await client.callTool({ name: "r__spoof", arguments: {} });
    expect(spoof.content).toEqual([{ type: "text", text: "ok" }]);
    const res = await slow;
    expect(res.content).toEqual([{ type: "text", text: "slept 600 ms" }]);
    expect(progress).toEqual(["step 1 of 2", "step 2 of 2"]);
    expect(stderr).toMatch(
      /upstream "r" sent an answer to request \d+ that went to upstream "a"; dropped/,
    );
    expect(stderr).toMatch(/upstream "r" sent progress on a request that went to upstream "a"/);
  });
});
