// The gateway's Streamable HTTP front merging two upstreams (one stdio, one HTTP), with real
// SDK clients: prefixed names, distinct resource URIs, pagination across the merge,
// list_changed, subscriptions, server→client requests, and the HTTP front's own checks.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import { type FixtureHttp, startFixtureHttp } from "../fixtures/mcp-server/http.mjs";
import {
  alive,
  type ClientLog,
  httpClient,
  httpUpstream,
  startGateway,
  stdioUpstream,
  tempDir,
  until,
  writeGatewayFiles,
} from "./helpers.js";

async function allPages<T>(
  get: (cursor?: string) => Promise<{ nextCursor?: string } & Record<string, unknown>>,
  key: string,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const r = await get(cursor);
    items.push(...(r[key] as T[]));
    cursor = r.nextCursor;
    pages++;
  } while (cursor !== undefined);
  return { items, pages };
}

describe("gateway over HTTP with two upstreams", () => {
  let fixture: FixtureHttp;
  let gw: Gateway;
  let url: string;
  let client: Client;
  const log: ClientLog = { roots: [], notifications: [] };
  let directTools: string[];

  beforeAll(async () => {
    fixture = await startFixtureHttp({ pageSize: 5, name: "b" });
    const dir = tempDir();
    const cfg = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nmetrics: { path: /metrics }\nupstreams:\n${stdioUpstream("a", ["--page-size", "5"])}${httpUpstream("b", fixture.url)}`,
    );
    ({ gw, url } = await startGateway(cfg));
    client = await httpClient(url, log);
    const direct = await httpClient(fixture.url);
    directTools = (
      await allPages<{ name: string }>((cursor) => direct.listTools({ cursor }), "tools")
    ).items.map((t) => t.name);
    await direct.close();
  });
  afterAll(async () => {
    await client?.close();
    await gw?.stop();
    await fixture?.close();
  });

  it("announces itself as the merge of both", () => {
    expect(client.getServerVersion()).toMatchObject({ name: "warden-gateway" });
    expect(client.getServerCapabilities()?.resources?.subscribe).toBe(true);
  });

  it("merges tools with prefixes, filtered by the policy, across pages of both upstreams", async () => {
    const { items, pages } = await allPages<{ name: string }>(
      (cursor) => client.listTools({ cursor }),
      "tools",
    );
    expect(pages).toBeGreaterThan(2);
    const want = ["a", "b"]
      .flatMap((u) => directTools.map((t) => `${u}__${t}`))
      .filter((n) => !n.endsWith("__stats"));
    expect(items.map((t) => t.name).sort()).toEqual(want.sort());
  });

  it("rejects a cursor it did not make", async () => {
    await expect(client.listTools({ cursor: "not-a-cursor" })).rejects.toThrow(/Invalid cursor/);
  });

  it("routes calls by prefix and denies by policy", async () => {
    const r = await client.callTool({ name: "b__add", arguments: { a: 2, b: 3 } });
    expect(r.structuredContent).toEqual({ sum: 5 });
    const e = await client.callTool({ name: "a__stats", arguments: {} }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(McpError);
    expect((e as McpError).code).toBe(-32003);
    const u = await client.callTool({ name: "zz__echo", arguments: {} }).catch((x: unknown) => x);
    expect((u as McpError).code).toBe(-32602);
    expect((u as McpError).message).toMatch(/Unknown tool "zz__echo"/);
  });

  it("makes resource URIs distinct and reads them from the right upstream", async () => {
    const { items } = await allPages<{ uri: string }>(
      (cursor) => client.listResources({ cursor }),
      "resources",
    );
    const uris = items.map((r) => r.uri);
    expect(uris).toContain("a+test://static-text");
    expect(uris).toContain("b+test://static-text");
    const r = await client.readResource({ uri: "b+test://static-text" });
    expect(r.contents[0]?.uri).toBe("b+test://static-text");
    const t = await client.listResourceTemplates();
    expect(t.resourceTemplates.map((x) => x.uriTemplate).sort()).toEqual([
      "a+test://template/{id}/data",
      "b+test://template/{id}/data",
    ]);
    const d = await client.readResource({ uri: "a+test://template/7/data" });
    expect(d.contents[0]?.uri).toBe("a+test://template/7/data");
  });

  it("merges prompts and completes against the right upstream", async () => {
    const { items } = await allPages<{ name: string }>(
      (cursor) => client.listPrompts({ cursor }),
      "prompts",
    );
    expect(items.map((p) => p.name).sort()).toEqual([
      "a__test_simple_prompt",
      "b__test_simple_prompt",
    ]);
  });

  it("forwards list_changed and resource updates (with public URIs) from either upstream", async () => {
    await client.callTool({ name: "b__toggle_dynamic", arguments: { kind: "tools" } });
    await until(
      () => log.notifications.some((n) => n.method === "notifications/tools/list_changed"),
      5000,
      "list_changed",
    );
    const { items } = await allPages<{ name: string }>(
      (cursor) => client.listTools({ cursor }),
      "tools",
    );
    expect(items.map((t) => t.name)).toContain("b__dynamic_tool");
    await client.subscribeResource({ uri: "a+test://watched-resource" });
    await client.callTool({ name: "a__update_resource", arguments: {} });
    await until(
      () => log.notifications.some((n) => n.method === "notifications/resources/updated"),
      5000,
      "resources/updated",
    );
    const upd = log.notifications.find((n) => n.method === "notifications/resources/updated");
    expect(upd?.params).toMatchObject({ uri: "a+test://watched-resource" });
  });

  it("carries server→client requests from an HTTP upstream (sampling, elicitation)", async () => {
    const s = await client.callTool({ name: "b__sample", arguments: { prompt: "hi" } });
    expect(JSON.stringify(s.structuredContent)).toContain("sampled:");
    const e = await client.callTool({ name: "a__elicit", arguments: { message: "who?" } });
    expect(e.structuredContent).toMatchObject({ action: "accept" });
  });

  it("ends a session on DELETE, stopping its upstream children", async () => {
    const c2 = await httpClient(url);
    const s2 = [...gw.sessions].find(
      (s) => s.client === "gateway-test@1.0.0" && s !== [...gw.sessions][0],
    );
    const pid = s2?.upstreams().find((u) => u.name === "a")?.pid;
    expect(pid).toBeGreaterThan(0);
    const before = fixture.sessions();
    await (c2.transport as unknown as { terminateSession(): Promise<void> }).terminateSession();
    await until(() => !alive(pid!), 10_000, "upstream child exit");
    await until(() => fixture.sessions() < before, 10_000, "HTTP upstream session end");
    await c2.close();
  });

  it("serves Prometheus metrics of its decisions", async () => {
    const text = await (await fetch(new URL("/metrics", url))).text();
    expect(text).toMatch(
      /warden_mcp_decisions_total\{method="tools\/call",decision="allow"\} [1-9]/,
    );
    expect(text).toMatch(
      /warden_mcp_decisions_total\{method="tools\/call",decision="deny"\} [1-9]/,
    );
    // Per deciding rule, by its key path: a__stats was denied by "*__stats", b__add allowed by "add"
    expect(text).toMatch(
      /warden_mcp_rule_decisions_total\{rule="mcp\.tools\.deny\[1\]",decision="deny"\} [1-9]/,
    );
    expect(text).toMatch(
      /warden_mcp_rule_decisions_total\{rule="mcp\.tools\.allow\[\d+\]",decision="allow"\} [1-9]/,
    );
    expect(text).toMatch(/warden_mcp_sessions [1-9]/);
    // Per tool, from the core statistics strategy in the tool_invoke chain: calls, and time.
    expect(text).toMatch(/warden_mcp_tool_calls_total\{upstream="[ab]",tool="[ab]__[^"]+"\} [1-9]/);
    expect(text).toMatch(
      /warden_mcp_tool_seconds\{upstream="[ab]",tool="[ab]__[^"]+",quantile="0\.5"\} [0-9.e-]+/,
    );
  });

  it("collects idle sessions", async () => {
    const c3 = await httpClient(url);
    const n = gw.sessions.size;
    expect(gw.http!.collectIdle(Date.now() + 3_600_000)).toBeGreaterThan(0);
    expect(gw.sessions.size).toBeLessThan(n);
    await c3.close().catch(() => {});
    client = await httpClient(url, log);
  });
});

describe("the HTTP front's checks", () => {
  let gw: Gateway;
  let url: string;
  beforeAll(async () => {
    process.env.WARDEN_TEST_TOKEN = "s3cret";
    const dir = tempDir();
    const policy = `version: "1.0"\nmcp:\n  transport: { stdio: true }\n  tools: { allow: ["*"] }\n`;
    const cfg = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0, bearer_env: WARDEN_TEST_TOKEN } }\npolicy: ./policy.yaml\nupstreams:\n${stdioUpstream("fx")}`,
      policy,
    );
    ({ gw, url } = await startGateway(cfg));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const init = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "raw", version: "1" },
    },
  });
  const post = (headers: Record<string, string>) =>
    fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...headers,
      },
      body: init,
    });

  it("needs the bearer token", async () => {
    const r = await post({});
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toMatch(/Bearer/);
  });

  it("refuses foreign Host and Origin headers (DNS rebinding)", async () => {
    const auth = { authorization: "Bearer s3cret" };
    expect((await post({ ...auth, origin: "http://evil.example" })).status).toBe(403);
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve) => {
      const req = request(
        url,
        {
          method: "POST",
          headers: {
            host: "evil.example",
            "content-type": "application/json",
            accept: "application/json",
            ...auth,
          },
        },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.end(init);
    });
    expect(status).toBe(403);
  });

  it("judges the connection: a policy without http transport denies initialize", async () => {
    const r = await post({ authorization: "Bearer s3cret" });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/event-stream");
    const text = await r.text();
    expect(text).toMatch(/^event: message\ndata: .*\n\n$/);
    const body = JSON.parse(text.slice(text.indexOf("data: ") + 6)) as {
      error?: { code: number; message: string; data: { warden: string } };
    };
    expect(body.error?.code).toBe(-32003);
    expect(body.error?.data.warden).toBe("connection_denied");
    expect(body.error?.message).toMatch(/transport "http" is not enabled/);
    // The hint names the exact key and value to set.
    expect(body.error?.message).toMatch(
      /set `mcp\.transport\.http: \{ allowed_hosts: \[".+"\] \}` \(or `mcp\.transport\.http: true` for any host\)\.$/,
    );
  });

  it("answers unknown sessions with 404 and missing ones with 400", async () => {
    const auth = { authorization: "Bearer s3cret" };
    const call = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" });
    const h = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...auth,
    };
    expect((await fetch(url, { method: "POST", headers: h, body: call })).status).toBe(400);
    expect(
      (
        await fetch(url, {
          method: "POST",
          headers: { ...h, "mcp-session-id": "nope" },
          body: call,
        })
      ).status,
    ).toBe(404);
  });
});
