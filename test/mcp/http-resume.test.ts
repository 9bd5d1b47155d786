// Resumption on the gateway's HTTP front with a real SDK client: the client's connection drops
// in the middle of a tool call's SSE stream, the client reconnects with GET + Last-Event-ID and
// gets exactly what it missed (progress and the answer), once each, in order.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import { startGateway, stdioUpstream, tempDir, writeGatewayFiles } from "./helpers.js";

/** A fetch that cuts the first tools/call SSE stream after a chunk with `at` (a dropped link). */
function cuttingFetch(
  log: { lastEventIds: string[]; cut: number; tokens?: string[]; seenAtResume?: string[] },
  at = "notifications/progress",
) {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    if (init?.method === "GET") {
      const last = headers.get("last-event-id");
      if (last) {
        log.lastEventIds.push(last);
        // the newest resumption token the client had been handed when it reconnected
        if (log.tokens) (log.seenAtResume ??= []).push(log.tokens.at(-1) ?? "");
      }
    }
    const res = await fetch(input, init);
    const cut =
      init?.method === "POST" &&
      log.cut === 0 &&
      typeof init.body === "string" &&
      init.body.includes('"tools/call"') &&
      res.headers.get("content-type") === "text/event-stream" &&
      res.body !== null;
    if (!cut) return res;
    log.cut++;
    const reader = res.body!.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(ctrl) {
        const { value, done } = await reader.read();
        if (done) return ctrl.close();
        ctrl.enqueue(value);
        if (new TextDecoder().decode(value).includes(at)) {
          await reader.cancel(); // closes the connection: the gateway sees the client go
          ctrl.error(new TypeError("network connection lost"));
        }
      },
    });
    return new Response(body, { status: res.status, headers: res.headers });
  };
}

describe("Last-Event-ID resumption through the gateway (real SDK client)", () => {
  let gw: Gateway;
  let url: string;
  beforeAll(async () => {
    const cfg = writeGatewayFiles(
      tempDir(),
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nupstreams:\n${stdioUpstream("fx")}`,
    );
    ({ gw, url } = await startGateway(cfg));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("replays the events a client missed while its tool-call stream was down", async () => {
    const tokens: string[] = [];
    const log = { lastEventIds: [] as string[], cut: 0, tokens, seenAtResume: [] as string[] };
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      fetch: cuttingFetch(log),
      reconnectionOptions: {
        initialReconnectionDelay: 100,
        maxReconnectionDelay: 200,
        reconnectionDelayGrowFactor: 1,
        maxRetries: 10,
      },
    });
    const client = new Client({ name: "resumer", version: "1.0.0" });
    const errors: string[] = [];
    client.onerror = (e) => errors.push(e.message);
    await client.connect(transport);
    try {
      const progress: number[] = [];
      const result = await client.callTool(
        { name: "slow", arguments: { ms: 900, steps: 6 } },
        undefined,
        {
          onprogress: (p) => progress.push(p.progress),
          onresumptiontoken: (t) => tokens.push(t),
          timeout: 20_000,
        },
      );
      expect(log.cut).toBe(1);
      expect(errors.join("\n")).toMatch(/network connection lost/);
      expect(result.content).toEqual([{ type: "text", text: "slept 900 ms" }]);
      // every step once, in order: missed ones replayed, none twice
      expect(progress).toEqual([1, 2, 3, 4, 5, 6]);
      // the client resumed with the id of the last event it had seen
      expect(log.lastEventIds.length).toBeGreaterThanOrEqual(1);
      expect(log.lastEventIds[0]).toMatch(/^\d+\.\d+$/);
      // (one read can carry several events when the machine is busy: the last one counts)
      expect(log.lastEventIds[0]).toBe(log.seenAtResume[0]);
      expect(tokens.length).toBeGreaterThan(1);
      // the session keeps working afterwards
      const echo = await client.callTool({ name: "echo", arguments: { text: "after" } });
      expect(echo.content).toEqual([{ type: "text", text: "after" }]);
    } finally {
      await client.close();
    }
  }, 30_000);

  it("resumes a long call that sent nothing yet, from its priming event", async () => {
    const log = { lastEventIds: [] as string[], cut: 0 };
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      fetch: cuttingFetch(log, "retry:"),
      reconnectionOptions: {
        initialReconnectionDelay: 100,
        maxReconnectionDelay: 200,
        reconnectionDelayGrowFactor: 1,
        maxRetries: 10,
      },
    });
    const client = new Client({ name: "resumer", version: "1.0.0" });
    client.onerror = () => {};
    await client.connect(transport);
    try {
      const result = await client.callTool(
        { name: "slow", arguments: { ms: 5000, steps: 1 } },
        undefined,
        {
          timeout: 20_000,
        },
      );
      expect(log.cut).toBe(1);
      expect(result.content).toEqual([{ type: "text", text: "slept 5000 ms" }]);
      expect(log.lastEventIds[0]).toMatch(/^\d+\.\d+$/);
    } finally {
      await client.close();
    }
  }, 30_000);
});
