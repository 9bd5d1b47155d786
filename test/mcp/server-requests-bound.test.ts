// A hostile upstream floods the client with server→client requests (sampling) that the client
// reads but never answers: the gateway keeps at most MAX_SERVER_REQUESTS of them waiting per
// session, refuses the rest to the upstream with data.warden server_requests_full, audits each
// refusal, and goes on serving the session.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { expect, it } from "vitest";
import { MAX_SERVER_REQUESTS } from "../../src/mcp/server-requests.js";
import { CLI, tempDir, until, writeGatewayFiles } from "./helpers.js";

const ROGUE = join(import.meta.dirname, "fixtures/rogue-server.mjs");

it("refuses server→client requests past the bound when the client never answers", async () => {
  const dir = tempDir();
  const rogue = `  - name: r\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(ROGUE)}]\n`;
  const cfg = writeGatewayFiles(
    dir,
    `listen: stdio\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n${rogue}`,
    `version: "1.0"\nmcp:\n  transport: { stdio: true }\n  tools: { allow: ["ask", "refusals"] }\n`,
  );
  const gw = spawn(process.execPath, [CLI, "gateway", "--config", cfg], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const answers = new Map<number, Record<string, unknown>>();
  let serverRequests = 0;
  createInterface({ input: gw.stdout! }).on("line", (line) => {
    const m = JSON.parse(line) as { id?: number; method?: string };
    if (m.method === "sampling/createMessage") serverRequests++;
    else if (typeof m.id === "number") answers.set(m.id, m as Record<string, unknown>);
  });
  const send = (m: unknown) => gw.stdin!.write(`${JSON.stringify(m)}\n`);
  try {
    send({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: { sampling: {} },
        clientInfo: { name: "never-answers", version: "1" },
      },
    });
    await until(() => answers.has(1), 10_000);
    send({ jsonrpc: "2.0", method: "notifications/initialized" });
    const flood = MAX_SERVER_REQUESTS + 50;
    send({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "ask", arguments: { count: flood } },
    });
    await until(() => answers.has(2), 10_000);
    // the client never answers any sampling request; the gateway refuses the 50 past the bound
    send({
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "refusals", arguments: {} },
    });
    await until(() => answers.has(3), 10_000);
    const text = (answers.get(3)!.result as { content: { text: string }[] }).content[0]!.text;
    const refused = JSON.parse(text) as string[];
    expect(refused).toHaveLength(50);
    expect(new Set(refused)).toEqual(new Set(["server_requests_full"]));
    expect(serverRequests).toBe(MAX_SERVER_REQUESTS);
    const lines = readFileSync(join(dir, "audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { code?: string; method?: string; decision?: string });
    const full = lines.filter((l) => l.code === "server_requests_full");
    expect(full).toHaveLength(50);
    expect(full[0]).toMatchObject({ method: "sampling/createMessage", decision: "deny" });
  } finally {
    gw.kill();
  }
});
