// Requests the gateway does not judge, with two real upstreams behind a stdio gateway driven by
// a real SDK client: ping is answered by the gateway, logging/setLevel reaches every upstream,
// other methods go to the upstream their params.name / params.uri names (prefix removed), else
// to the first one; and a JSON-RPC batch on stdio is refused with a clear -32600.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { CLI, stdioGatewayClient, tempDir, writeGatewayFiles } from "./helpers.js";

const WHOAMI = join(import.meta.dirname, "fixtures/whoami-server.mjs");
const Who = z.object({
  server: z.string(),
  params: z.record(z.unknown()),
  level: z.string().nullable(),
});

function upstream(name: string): string {
  return `  - name: ${name}\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(WHOAMI)}, ${name}]\n`;
}

describe("routing of requests the gateway does not judge (two upstreams)", () => {
  let cfg: string;
  let client: Awaited<ReturnType<typeof stdioGatewayClient>>["client"];
  const who = (params: Record<string, unknown>) =>
    client.request({ method: "x/whoami", params }, Who);

  beforeAll(async () => {
    cfg = writeGatewayFiles(
      tempDir(),
      `listen: stdio\npolicy: ./policy.yaml\nupstreams:\n${upstream("a")}${upstream("b")}`,
      `version: "1.0"\nmcp:\n  transport: { stdio: true }\n  tools: { allow: ["*"] }\n  methods: { allow: ["x/whoami"] }\n`,
    );
    ({ client } = await stdioGatewayClient(cfg));
  });
  afterAll(async () => {
    await client?.close();
  });

  it("answers ping itself", async () => {
    expect(await client.ping()).toEqual({});
  });

  it("sends logging/setLevel to every upstream", async () => {
    await client.setLoggingLevel("warning");
    expect((await who({ name: "a__x" })).level).toBe("warning");
    expect((await who({ name: "b__x" })).level).toBe("warning");
  });

  it("routes by the prefix of params.name or params.uri, and removes it", async () => {
    expect(await who({ name: "b__thing", extra: 1 })).toMatchObject({
      server: "b",
      params: { name: "thing", extra: 1 },
    });
    expect(await who({ name: "a__thing" })).toMatchObject({
      server: "a",
      params: { name: "thing" },
    });
    expect(await who({ uri: "b+mem://doc" })).toMatchObject({
      server: "b",
      params: { uri: "mem://doc" },
    });
  });

  it("sends anything else to the first upstream, unchanged", async () => {
    expect(await who({ q: 1 })).toMatchObject({ server: "a", params: { q: 1 } });
    expect(await who({ name: "nobody__x" })).toMatchObject({
      server: "a",
      params: { name: "nobody__x" },
    });
  });

  it("refuses a JSON-RPC batch on stdio with -32600 saying why", async () => {
    const gw = spawn(process.execPath, [CLI, "gateway", "--config", cfg, "--no-watch"], {
      stdio: ["pipe", "pipe", "ignore"],
    });
    let out = "";
    gw.stdout.setEncoding("utf8");
    const line = new Promise<string>((resolve) =>
      gw.stdout.on("data", (c: string) => {
        out += c;
        if (out.includes("\n")) resolve(out.slice(0, out.indexOf("\n")));
      }),
    );
    gw.stdin.write(`${JSON.stringify([{ jsonrpc: "2.0", id: 1, method: "ping" }])}\n`);
    const reply = JSON.parse(await line) as {
      id: unknown;
      error: { code: number; message: string };
    };
    gw.stdin.end();
    await new Promise((r) => gw.on("exit", r));
    expect(reply.id).toBeNull();
    expect(reply.error.code).toBe(-32600);
    expect(reply.error.message).toMatch(/batches are not accepted.*2025-06-18 removed batching/);
  });
});
