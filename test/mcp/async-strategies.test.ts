// The gateway awaits strategies that have to wait (`beforeCallAsync`): Gateway.start({ strategies })
// accepts them, a denial from one reaches the client and the audit, one that throws or rejects
// denies (fail closed, with its audit line), and a pipelined burst whose judgements resolve out
// of order lets no denied call through and answers each request with its own answer. A real SDK
// client through the gateway's HTTP front and its stdio front; a real upstream process.

import { join } from "node:path";
import { PassThrough } from "node:stream";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import {
  Gateway,
  type GatewayCallMeta,
  loadGatewayConfig,
  type Strategy,
} from "../../src/index.js";
import { auditLines } from "./audit-schema.js";
import { stdioUpstream, tempDir, until, writeGatewayFiles } from "./helpers.js";

type GatewayStrategy = Strategy<GatewayCallMeta>;

const POLICY = `version: "1.0"
mcp:
  transport: { stdio: true, http: true }
  tools:
    allow: ["*"]
`;

/** An async judge: waits a turn of the timer queue, then denies `add`. */
const noAdd: GatewayStrategy = {
  name: "no-add-later",
  beforeCallAsync: async (call) => {
    await new Promise((r) => setTimeout(r, 1));
    return call.function === "add"
      ? { verdict: "block", reason: "add is not for today", by: "no-add-later" }
      : undefined;
  },
};

/** An async judge that fails: rejects on "boom", throws before its first await on "bang". */
const failing: GatewayStrategy = {
  name: "flaky",
  beforeCallAsync: (call) => {
    const text = String((call.args as { text?: unknown } | undefined)?.text ?? "");
    if (text === "bang") throw new Error("the judge threw");
    if (text === "boom") return Promise.reject(new Error("the judge's service is down"));
    return Promise.resolve(undefined);
  },
};

let gw: Gateway | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close().catch(() => {});
  await gw?.stop();
  gw = client = undefined;
});

function files(listen: string): { file: string; audit: string } {
  const dir = tempDir();
  const file = writeGatewayFiles(
    dir,
    `listen: ${listen}\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n${stdioUpstream("fx")}`,
    POLICY,
  );
  return { file, audit: join(dir, "audit.jsonl") };
}

/** A client transport over the gateway's stdio front run in this process (NDJSON framing). */
function streamPair(): { transport: Transport; input: PassThrough; output: PassThrough } {
  const input = new PassThrough();
  const output = new PassThrough();
  const buf = new ReadBuffer();
  const transport: Transport = {
    start: async () => {
      output.on("data", (chunk: Buffer) => {
        buf.append(chunk);
        for (let m = buf.readMessage(); m !== null; m = buf.readMessage()) transport.onmessage?.(m);
      });
    },
    send: async (m: JSONRPCMessage) => {
      input.write(serializeMessage(m));
    },
    close: async () => {
      input.end();
      transport.onclose?.();
    },
  };
  return { transport, input, output };
}

async function stdioGateway(
  strategies: Parameters<typeof Gateway.start>[0]["strategies"],
): Promise<{ client: Client; audit: string }> {
  const { file, audit } = files("stdio");
  const { transport, input, output } = streamPair();
  gw = await Gateway.start({
    config: loadGatewayConfig(file),
    watch: false,
    log: () => {},
    stdio: { input, output },
    strategies,
  });
  const c = new Client({ name: "async-test", version: "1" });
  await c.connect(transport);
  return { client: c, audit };
}

/**
 * A strategy that holds the judgement of each call of `fn` until `go()`: `judging` resolves when
 * the first such call is being judged.
 */
function heldAt(fn: string): { gate: GatewayStrategy; judging: Promise<void>; go: () => void } {
  let judged!: () => void;
  const judging = new Promise<void>((r) => {
    judged = r;
  });
  let go!: () => void;
  const wait = new Promise<void>((r) => {
    go = r;
  });
  const gate: GatewayStrategy = {
    name: "gate",
    beforeCallAsync: async (call) => {
      if (call.function !== fn) return undefined;
      judged();
      await wait;
      return undefined;
    },
  };
  return { gate, judging, go };
}

const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;

describe("async strategies over the HTTP front", () => {
  it("awaits a strategy: allows what it allows, denies what it denies, audits both", async () => {
    const { file, audit } = files("{ http: { port: 0 } }");
    gw = await Gateway.start({
      config: loadGatewayConfig(file),
      watch: false,
      log: () => {},
      strategies: { tool_invoke: [noAdd] },
    });
    client = new Client({ name: "async-test", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gw.address!.port}/mcp`)),
    );
    expect(text(await client.callTool({ name: "echo", arguments: { text: "hi" } }))).toBe("hi");
    await expect(client.callTool({ name: "add", arguments: { a: 1, b: 2 } })).rejects.toThrow(
      /Warden denied tools\/call "add": add is not for today/,
    );
    gw.audit?.flush();
    const lines = auditLines(audit).filter((l) => l.phase === "decision");
    expect(lines).toContainEqual(
      expect.objectContaining({ name: "echo", decision: "allow", method: "tools/call" }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ name: "add", decision: "deny", reason: "add is not for today" }),
    );
  }, 30_000);

  it("fails closed when a strategy rejects or throws: denied, named, audited", async () => {
    const { file, audit } = files("{ http: { port: 0 } }");
    gw = await Gateway.start({
      config: loadGatewayConfig(file),
      watch: false,
      log: () => {},
      strategies: [failing],
    });
    client = new Client({ name: "async-test", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gw.address!.port}/mcp`)),
    );
    await expect(client.callTool({ name: "echo", arguments: { text: "boom" } })).rejects.toThrow(
      /"flaky" failed.*the judge's service is down/,
    );
    await expect(client.callTool({ name: "echo", arguments: { text: "bang" } })).rejects.toThrow(
      /"flaky" failed.*the judge threw/,
    );
    expect(text(await client.callTool({ name: "echo", arguments: { text: "ok" } }))).toBe("ok");
    gw.audit?.flush();
    const denied = auditLines(audit).filter((l) => l.decision === "deny" && l.name === "echo");
    expect(denied.map((l) => l.reason)).toEqual([
      expect.stringMatching(/the judge's service is down/),
      expect.stringMatching(/the judge threw/),
    ]);
    // Nothing it failed on reached the upstream: only "ok" has an outcome line.
    const outcomes = auditLines(audit).filter((l) => l.phase === "outcome" && l.name === "echo");
    expect(outcomes).toHaveLength(1);
  }, 30_000);
});

describe("a synchronous strategy that throws", () => {
  it("fails closed on a request and on an answer: denied, named, audited; the session goes on", async () => {
    /** Throws on tools/call "add" (before the call) and on the answer to echo "late". */
    const throwing: GatewayStrategy = {
      name: "throws",
      beforeCall: (call) => {
        if (call.meta?.phase === "tool_invoke" && call.function === "add")
          throw new Error("the judge has a bug");
        const r = call.meta?.phase === "response" ? JSON.stringify(call.args) : "";
        if (r.includes("late")) throw new Error("the answer judge has a bug");
        return undefined;
      },
    };
    const { file, audit } = files("{ http: { port: 0 } }");
    gw = await Gateway.start({
      config: loadGatewayConfig(file),
      watch: false,
      log: () => {},
      strategies: [throwing],
    });
    client = new Client({ name: "sync-throw-test", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gw.address!.port}/mcp`)),
    );
    await expect(client.callTool({ name: "add", arguments: { a: 1, b: 2 } })).rejects.toThrow(
      /failed.*the judge has a bug/,
    );
    await expect(client.callTool({ name: "echo", arguments: { text: "late" } })).rejects.toThrow(
      /failed.*the answer judge has a bug/,
    );
    expect(text(await client.callTool({ name: "echo", arguments: { text: "ok" } }))).toBe("ok");
    gw.audit?.flush();
    const denied = auditLines(audit).filter((l) => l.decision === "deny");
    expect(denied.map((l) => [l.name, l.reason])).toEqual([
      ["add", expect.stringMatching(/the judge has a bug/)],
      ["echo", expect.stringMatching(/the answer judge has a bug/)],
    ]);
    // "add" never reached the upstream: no outcome line for it
    const outcomes = auditLines(audit).filter((l) => l.phase === "outcome" && l.name === "add");
    expect(outcomes).toHaveLength(0);
  }, 30_000);
});

describe("async strategies over the stdio front", () => {
  it("awaits a strategy and fails closed when one rejects", async () => {
    const started = await stdioGateway({ tool_invoke: [noAdd, failing] });
    client = started.client;
    expect(text(await client.callTool({ name: "echo", arguments: { text: "hi" } }))).toBe("hi");
    await expect(client.callTool({ name: "add", arguments: { a: 1, b: 2 } })).rejects.toThrow(
      /add is not for today/,
    );
    await expect(client.callTool({ name: "echo", arguments: { text: "boom" } })).rejects.toThrow(
      /"flaky" failed/,
    );
  }, 30_000);

  it("attacker: a pipelined burst judged out of order lets no denied call through and misroutes no answer", async () => {
    const N = 40;
    // Holds every tools/call judgement until all N have arrived, then decides them in reverse
    // order: the last request sent is decided first.
    const held: (() => void)[] = [];
    let release!: () => void;
    const all = new Promise<void>((r) => {
      release = r;
    });
    const reversed: GatewayStrategy = {
      name: "reversed",
      beforeCallAsync: async (call) => {
        if (call.function === "stats") return undefined;
        const turn = new Promise<void>((r) => held.push(r));
        if (held.length === N) release();
        await turn;
        return call.function === "add"
          ? { verdict: "block", reason: "no add in a burst", by: "reversed" }
          : undefined;
      },
    };
    // Answers are judged asynchronously too, each after a different number of timer turns.
    let n = 0;
    const shuffled: GatewayStrategy = {
      name: "shuffled",
      beforeCallAsync: async () => {
        for (let i = (n++ * 7) % 5; i > 0; i--) await new Promise((r) => setTimeout(r, 0));
        return undefined;
      },
    };
    const started = await stdioGateway({ tool_invoke: [reversed], response: [shuffled] });
    client = started.client;
    const calls = Array.from({ length: N }, (_, i) =>
      i % 2 === 0
        ? client!.callTool({ name: "echo", arguments: { text: `m${i}` } })
        : client!.callTool({ name: "add", arguments: { a: i, b: 1 } }),
    );
    void all.then(() => {
      for (const r of held.reverse()) r();
    });
    const settled = await Promise.allSettled(calls);
    for (const [i, s] of settled.entries()) {
      if (i % 2 === 0) {
        expect(s.status).toBe("fulfilled");
        expect(text((s as PromiseFulfilledResult<unknown>).value)).toBe(`m${i}`);
      } else {
        expect(s.status).toBe("rejected");
        expect(String((s as PromiseRejectedResult).reason)).toMatch(/no add in a burst/);
      }
    }
    // The upstream never ran add.
    const stats = JSON.parse(text(await client.callTool({ name: "stats", arguments: {} })));
    expect(stats.calls.add).toBeUndefined();
    expect(stats.calls.echo).toBe(N / 2);
  }, 60_000);

  it("a cancel sent while its request is being judged does not overtake the judgement", async () => {
    const { gate, judging, go } = heldAt("slow");
    const started = await stdioGateway({ tool_invoke: [gate] });
    client = started.client;
    const ac = new AbortController();
    const call = client.callTool({ name: "slow", arguments: { ms: 20_000, steps: 2 } }, undefined, {
      signal: ac.signal,
    });
    await judging;
    ac.abort("changed my mind");
    // A request sent after the cancel is answered: the gateway has read the cancel by then.
    await client.ping();
    go();
    await expect(call).rejects.toThrow();
    await until(
      () => {
        gw!.audit?.flush();
        return auditLines(started.audit).some((l) => l.phase === "outcome" && l.name === "slow");
      },
      10_000,
      "the slow call's outcome line",
    );
    const outcome = auditLines(started.audit).find(
      (l) => l.phase === "outcome" && l.name === "slow",
    );
    expect(outcome?.outcome).toBe("cancelled");
  }, 30_000);

  it("attacker: notifications flooded while a judgement is in flight are bounded (held_full), audited", async () => {
    const { gate, judging, go } = heldAt("echo");
    const started = await stdioGateway({ tool_invoke: [gate] });
    client = started.client;
    const call = client.callTool({ name: "echo", arguments: { text: "late" } });
    await judging;
    for (let i = 0; i < 1100; i++)
      await client.notification({ method: "notifications/test/flood" });
    await client.ping();
    gw!.audit?.flush();
    const full = auditLines(started.audit).filter((l) => l.code === "held_full");
    expect(full).toHaveLength(1100 - 1024);
    expect(full[0]).toMatchObject({
      method: "notifications/test/flood",
      decision: "deny",
    });
    go();
    expect(text(await call)).toBe("late");
  }, 30_000);
});
