// One upstream cannot speak for another: a hostile upstream behind the same stdio gateway answers
// the requests the gateway sent to the other upstream (gateway ids are one sequence per session,
// easy to guess) and reports progress on the client's tokens. A real SDK client must get the
// genuine answer and progress of the honest upstream, and the gateway must say what it dropped.
// Also: an answer the gateway does not change reaches the client byte for byte as the upstream
// wrote it (only the id replaced), and one it rewrites is serialized from the gateway's parse.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CLI,
  stdioGatewayClient,
  stdioUpstream,
  tempDir,
  until,
  writeGatewayFiles,
} from "./helpers.js";

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
    // the genuine progress only; the SDK client often drops the last one (it handles a
    // notification a microtask after an answer read in the same chunk, and the answer removes
    // the handler first: 28 of 30 calls lost it without any gateway, 2026-12-02)
    expect(progress[0]).toBe("step 1 of 2");
    for (const m of progress) expect(m).toMatch(/^step [12] of 2$/);
    expect(stderr).toMatch(
      /upstream "r" sent an answer to request \d+ that went to upstream "a"; dropped/,
    );
    expect(stderr).toMatch(/upstream "r" sent progress on a request that went to upstream "a"/);
  });
});

/** A raw NDJSON client of `warden gateway` on stdio: the exact lines the gateway writes. */
async function rawGateway(cfg: string) {
  const proc = spawn(process.execPath, [CLI, "gateway", "--config", cfg, "--no-watch"], {
    stdio: ["pipe", "pipe", "ignore"],
  });
  const lines: string[] = [];
  createInterface({ input: proc.stdout! }).on("line", (l) => lines.push(l));
  const ask = async (id: number, method: string, params: unknown) => {
    proc.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
    await until(() => lines.some((l) => l.includes(`"id":${id}`)), 20_000, `answer ${id}`);
    return lines.find((l) => l.includes(`"id":${id}`))!;
  };
  await ask(1, "initialize", {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "raw", version: "1" },
  });
  proc.stdin!.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
  return { ask, close: () => proc.stdin!.end() };
}

describe("answers forwarded as the upstream wrote them", () => {
  const rogue = (prefix: boolean) =>
    `  - name: r\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(ROGUE)}]\n    prefix: ${prefix}\n`;
  const policy = `version: "1.0"\nmcp:\n  transport: { stdio: true }\n  tools: { allow: ["exact", "r__exact"] }\n`;
  /** The line a raw client gets for tools/call `exact` (as request 7), upstream prefixed or not. */
  const exactLine = async (prefix: boolean) => {
    const cfg = writeGatewayFiles(
      tempDir(),
      `listen: stdio\npolicy: ./policy.yaml\nupstreams:\n${rogue(prefix)}`,
      policy,
    );
    const gw = await rawGateway(cfg);
    const line = await gw.ask(7, "tools/call", {
      name: prefix ? "r__exact" : "exact",
      arguments: {},
    });
    gw.close();
    return line;
  };

  it("keeps the upstream's bytes when nothing in the gateway changes the answer", async () => {
    const line = await exactLine(false);
    expect(line).toBe(
      '{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"exact"}],"structuredContent":{"n":12345678901234567890}}}',
    );
  }, 60_000);

  it("serializes its own answer where it rewrites one (prefixed names)", async () => {
    const line = await exactLine(true);
    expect(JSON.parse(line)).toMatchObject({ id: 7, result: { structuredContent: {} } });
    expect(line).toContain('"n":12345678901234567000');
  }, 60_000);
});

describe("names shared by upstreams without prefixes", () => {
  it("keep the upstream that lists them first; a later one's duplicate is hidden and logged", async () => {
    const rogue = `  - name: r\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(ROGUE)}]\n    prefix: false\n`;
    const cfg = writeGatewayFiles(
      tempDir(),
      `listen: stdio\npolicy: ./policy.yaml\nupstreams:\n${stdioUpstream("a", [], false)}${rogue}`,
      `version: "1.0"\nmcp:\n  transport: { stdio: true }\n  tools: { allow: ["echo", "exact", "claim"] }\n  resources: { allow: [{ uri: "test://static-text" }] }\n`,
    );
    const { client, transport } = await stdioGatewayClient(cfg);
    let log = "";
    transport.stderr?.on("data", (d: Buffer) => {
      log += String(d);
    });
    try {
      const { tools } = await client.listTools();
      const echoes = tools.filter((t) => t.name === "echo");
      expect(echoes).toHaveLength(1);
      expect(echoes[0]!.description).not.toBe("rogue");
      expect(tools.map((t) => t.name)).toContain("exact");
      const r = await client.callTool({ name: "echo", arguments: { text: "hi" } });
      expect(JSON.stringify(r.content)).not.toContain("rogue echo");
      await until(() => log.includes('upstream "r" lists name "echo"'), 5000, "the log line");
      expect(log).toContain('which upstream "a" listed first; hidden');
      // a listed URI stays with its lister, whatever another upstream notifies about it
      const { resources } = await client.listResources();
      expect(resources.map((r) => r.uri)).toContain("test://static-text");
      await client.callTool({ name: "claim", arguments: { uri: "test://static-text" } });
      const read = await client.readResource({ uri: "test://static-text" });
      expect(read.contents[0]).toMatchObject({ uri: "test://static-text" });
    } finally {
      await client.close();
    }
  });
});
