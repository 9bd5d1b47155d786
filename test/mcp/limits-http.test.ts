// The queue towards one HTTP client is bounded (issue 18, 4): an upstream floods notifications on
// the SSE stream of a call whose client never reads; past limits.client_queue_bytes (8 MiB) the
// gateway drops that session and logs it, stays up for other clients, and its peak RSS (VmHWM of
// the child gateway) stays bounded (the issue measured 678 MB before).
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, tempDir, until, writeGatewayFiles } from "./helpers.js";
import { hostileUpstream } from "./raw-gateway.js";

const POLICY = `version: "1.0"\nmcp:\n  transport: { stdio: true, http: true }\n  tools: { allow: ["*"] }\n`;

function peakMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) / 1024;
}

/** One HTTP/1.1 POST on a raw socket; resolves with the socket and the head once it arrives. */
function post(
  port: number,
  body: unknown,
  session?: string,
): Promise<{ sock: Socket; head: string }> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let got = "";
    sock.on("error", reject);
    sock.on("data", function onData(d: Buffer) {
      got += d.toString("latin1");
      const end = got.indexOf("\r\n\r\n");
      if (end >= 0) {
        sock.off("data", onData);
        resolve({ sock, head: got });
      }
    });
    sock.write(
      `POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\n${session ? `mcp-session-id: ${session}\r\nmcp-protocol-version: 2025-06-18\r\n` : ""}content-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    );
  });
}

async function session(port: number): Promise<string> {
  const { sock, head } = await post(port, {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "raw", version: "1" },
    },
  });
  sock.destroy();
  const id = /mcp-session-id: ([^\r\n]+)/i.exec(head)?.[1];
  if (id === undefined) throw new Error(`no session id in ${head}`);
  (await post(port, { jsonrpc: "2.0", method: "notifications/initialized" }, id)).sock.destroy();
  return id;
}

describe("the queue towards an HTTP client that does not read", () => {
  let gw: ChildProcess;
  let stderr = "";
  let port = 0;
  beforeAll(async () => {
    const cfg = writeGatewayFiles(
      tempDir(),
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nupstreams:\n${hostileUpstream("h")}`,
      POLICY,
    );
    gw = spawn(process.execPath, [CLI, "gateway", "--config", cfg, "--no-watch"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    gw.stderr!.on("data", (d: Buffer) => {
      stderr += String(d);
    });
    await until(
      () => /listening on http:\/\/[^:]+:(\d+)/.test(stderr),
      30_000,
      "the gateway to listen",
    );
    port = Number(/listening on http:\/\/[^:]+:(\d+)/.exec(stderr)![1]);
  });
  afterAll(() => {
    gw?.kill();
  });

  it("drops the session once 8 MiB wait for it, and serves the next client", async () => {
    const id = await session(port);
    const { sock } = await post(
      port,
      {
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "flood", arguments: { mb: 64 } },
      },
      id,
    );
    sock.pause(); // never read the SSE stream
    let peak = 0;
    await until(
      () => {
        peak = Math.max(peak, peakMiB(gw.pid!));
        return /HTTP session \S+ \(caller "anonymous"\) is not reading: \d+ bytes are queued towards it, more than limits\.client_queue_bytes \(8388608\); dropped/.test(
          stderr,
        );
      },
      60_000,
      "the slow client to be dropped",
    );
    sock.destroy();
    expect(gw.exitCode).toBeNull();
    expect(peak).toBeLessThan(250);
    // another client is served
    const other = await session(port);
    const { sock: s2, head } = await post(
      port,
      {
        jsonrpc: "2.0",
        id: 3,
        method: "tools/call",
        params: { name: "echo", arguments: { text: "hi" } },
      },
      other,
    );
    s2.destroy();
    expect(head).toMatch(/^HTTP\/1\.1 200/);
  });
});
