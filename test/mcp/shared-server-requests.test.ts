// Server→client requests of a shared upstream (`sessions: shared`, issue 18 point 4): they go to
// the one session they belong to (over Streamable HTTP, the session whose call's stream carried
// them; over stdio, the only session with calls in flight), never to a guessed one: otherwise
// the upstream gets an error and the audit a line. roots/list is never asked of any session.
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ListRootsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/mcp/audit.js";
import type { Gateway } from "../../src/mcp/gateway.js";
import { type FixtureHttp, startFixtureHttp } from "../fixtures/mcp-server/http.mjs";
import { auditLines as readAudit } from "./audit-schema.js";
import {
  httpUpstream,
  startGateway,
  stdioUpstream,
  tempDir,
  until,
  writeGatewayFiles,
} from "./helpers.js";

const POLICY = `version: "1.0"
mcp:
  transport: { http: true, stdio: true }
  tools:
    allow: ["slow", "sample", "list_roots", "stats", "echo", "log"]
`;

/** A real SDK client whose sampling and roots handlers say who answered, and count. */
async function client(url: string, who: string) {
  const asked = { sampling: 0, roots: 0, logs: [] as string[] };
  const c = new Client(
    { name: who, version: "1" },
    { capabilities: { sampling: {}, roots: { listChanged: true } } },
  );
  c.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    asked.sampling++;
    const first = req.params.messages[0]?.content as { text?: string };
    return {
      model: who,
      role: "assistant",
      content: { type: "text", text: `${who}: ${first.text}` },
    };
  });
  c.setRequestHandler(ListRootsRequestSchema, async () => {
    asked.roots++;
    return { roots: [{ uri: `file:///home/${who}`, name: who }] };
  });
  c.fallbackNotificationHandler = async (n) => {
    if (n.method === "notifications/message") asked.logs.push(String(n.params?.data));
  };
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  return { c, asked };
}

const body = (r: unknown) =>
  (r as { content: { text: string }[] }).content.map((x) => x.text).join("\n");

/** The fixture upstream's counters (its `stats` tool), asked through `c`. */
const stats = async (c: Client) =>
  JSON.parse(body(await c.callTool({ name: "stats", arguments: {} }))) as {
    slowStarted: number;
    cancelled: number;
  };

/**
 * A `slow` call of `a` in flight until `ac` aborts it (`slow`: its end, or its error), resolved
 * once the upstream has started it (as `b` asks its stats).
 */
async function slowInFlight(a: Client, b: Client) {
  const s0 = (await stats(b)).slowStarted;
  const ac = new AbortController();
  const slow = a
    .callTool({ name: "slow", arguments: { ms: 60_000, steps: 1 } }, undefined, {
      signal: ac.signal,
    })
    .catch((e: Error) => e);
  await until(async () => (await stats(b)).slowStarted === s0 + 1);
  return { ac, slow };
}

/** The gateway's audit lines, each checked against docs/audit.schema.json. */
const auditLines = (dir: string) => readAudit(join(dir, "audit.jsonl")) as unknown as AuditRecord[];

async function gateway(upstream: string) {
  const dir = tempDir();
  const cfg = writeGatewayFiles(
    dir,
    `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n${upstream}    sessions: shared\n`,
    POLICY,
  );
  const { gw, url } = await startGateway(cfg);
  return { gw, url, dir };
}

describe("a shared stdio upstream's server→client requests", () => {
  let gw: Gateway;
  let url: string;
  let dir: string;
  beforeAll(async () => {
    ({ gw, url, dir } = await gateway(stdioUpstream("fx")));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("go to the session whose call asked when only it has calls in flight", async () => {
    const a = await client(url, "alice");
    const b = await client(url, "bob");
    try {
      const r = await a.c.callTool({ name: "sample", arguments: { prompt: "hi" } });
      expect(JSON.parse(body(r)).content.text).toBe("alice: hi");
      expect(b.asked.sampling).toBe(0);
    } finally {
      await a.c.close();
      await b.c.close();
    }
  });

  it("are refused, audited and asked of no session when two sessions have calls in flight", async () => {
    const a = await client(url, "alice");
    const b = await client(url, "bob");
    try {
      // A's call stays in flight until the end of the test (then cancelled)
      const { ac, slow } = await slowInFlight(a.c, b.c);
      const r = await b.c
        .callTool({ name: "sample", arguments: { prompt: "whose?" } })
        .catch((e: Error) => ({ content: [{ text: e.message }] }));
      expect(body(r)).toMatch(/cannot be attributed to one client session/);
      expect(a.asked.sampling + b.asked.sampling).toBe(0);
      await until(() =>
        auditLines(dir).some((l) => l.method === "sampling/createMessage" && l.decision === "deny"),
      );
      const line = auditLines(dir).find((l) => l.method === "sampling/createMessage")!;
      expect(line).toMatchObject({ session: null, upstream: "fx", phase: "decision" });
      // A's call ends (cancelled upstream): no call of this test stays in flight
      const cancelled = async () => (await stats(b.c)).cancelled;
      const c0 = await cancelled();
      ac.abort();
      await slow;
      await until(async () => (await cancelled()) === c0 + 1);
    } finally {
      await a.c.close();
      await b.c.close();
    }
  });

  it("log messages go to the session whose call sent them; setLevel is not one session's to set", async () => {
    const a = await client(url, "alice");
    const b = await client(url, "bob");
    try {
      await b.c.setLoggingLevel("emergency");
      await a.c.callTool({ name: "log", arguments: { level: "info", message: "for alice" } });
      await until(() => a.asked.logs.includes("for alice"));
      await b.c.callTool({ name: "echo", arguments: { text: "sync" } });
      expect(b.asked.logs).toEqual([]);
      // bob's setLevel was answered by the gateway: the shared upstream kept its own level
      const st = JSON.parse(body(await a.c.callTool({ name: "stats", arguments: {} })));
      expect(st.logLevel).toBeNull();
    } finally {
      await a.c.close();
      await b.c.close();
    }
  });

  it("roots/list is answered with no roots, never with a session's roots", async () => {
    const a = await client(url, "alice");
    try {
      const r = await a.c.callTool({ name: "list_roots", arguments: {} });
      expect(JSON.parse(body(r))).toEqual({ roots: [] });
      expect(a.asked.roots).toBe(0);
      await until(() => auditLines(dir).some((l) => l.method === "roots/list"));
      const st = JSON.parse(body(await a.c.callTool({ name: "stats", arguments: {} })));
      // the gateway initialized the upstream once, as itself, without the roots capability
      expect(st.clientInfo.name).toBe("warden-gateway");
      expect(st.clientCapabilities.roots).toBeUndefined();
    } finally {
      await a.c.close();
    }
  });
});

describe("a shared Streamable HTTP upstream's server→client requests", () => {
  let fixture: FixtureHttp;
  let gw: Gateway;
  let url: string;
  beforeAll(async () => {
    fixture = await startFixtureHttp({ name: "up" });
    ({ gw, url } = await gateway(httpUpstream("up", fixture.url)));
  });
  afterAll(async () => {
    await gw?.stop();
    await fixture?.close();
  });

  it("go to the session whose call's stream carried them, even with other calls in flight", async () => {
    const a = await client(url, "alice");
    const b = await client(url, "bob");
    try {
      const { ac, slow } = await slowInFlight(a.c, b.c);
      const r = await b.c.callTool({ name: "sample", arguments: { prompt: "mine" } });
      expect(JSON.parse(body(r)).content.text).toBe("bob: mine");
      expect(a.asked.sampling).toBe(0);
      ac.abort();
      await slow;
      // one upstream MCP session for every client session
      expect(fixture.sessions()).toBe(1);
    } finally {
      await a.c.close();
      await b.c.close();
    }
  });
});
