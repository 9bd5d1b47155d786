import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { beforeAll, describe, expect, it } from "vitest";
import { HostedServer } from "../../src/hosted/server.js";
import { CLI } from "../mcp/helpers.js";
import { ENV, serveHttp } from "./_serve.js";
import { CACHE, watComponent } from "./build.js";

const TMP = mkdtempSync(join(tmpdir(), "warden-sessions-"));
const GW_POLICY = join(TMP, "gateway.yaml");
let counter = "";

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  counter = await watComponent("counter");
  writeFileSync(
    GW_POLICY,
    'version: "1.0"\nmcp:\n  transport: { stdio: true, http: true }\n  tools:\n    allow: ["tools.next"]\n',
  );
});

const next = async (c: Client) =>
  ((await c.callTool({ name: "tools.next", arguments: {} })) as { structuredContent?: unknown })
    .structuredContent;

describe("instance: per-session", () => {
  it("keeps one instance per MCP session: a session's calls see its state, another session's do not", {
    timeout: 120_000,
  }, async () => {
    const { child, url: childUrl } = serveHttp([
      "serve",
      counter,
      "--http",
      "127.0.0.1:0",
      "--policy",
      GW_POLICY,
    ]);
    const open: Client[] = [];
    try {
      const url = await childUrl;
      const connect = async () => {
        const c = new Client({ name: "sessions-test", version: "1" });
        await c.connect(new StreamableHTTPClientTransport(new URL(url)));
        open.push(c);
        return c;
      };
      // Default (per-call): every call starts from the image.
      const d = await connect();
      expect(await next(d)).toEqual({ result: 1 });
      expect(await next(d)).toEqual({ result: 1 });
    } finally {
      for (const c of open) await c.close();
      child.kill("SIGTERM");
    }

    const { child: perSession, url: perSessionUrl } = serveHttp([
      "serve",
      counter,
      "--http",
      "127.0.0.1:0",
      "--policy",
      GW_POLICY,
      "--instance",
      "per-session",
    ]);
    const clients: Client[] = [];
    try {
      const url = await perSessionUrl;
      const connect = async () => {
        const c = new Client({ name: "sessions-test", version: "1" });
        await c.connect(new StreamableHTTPClientTransport(new URL(url)));
        clients.push(c);
        return c;
      };
      const a = await connect();
      const b = await connect();
      expect(await next(a)).toEqual({ result: 1 });
      expect(await next(a)).toEqual({ result: 2 });
      // Another session starts from the image: it does not see a's count.
      expect(await next(b)).toEqual({ result: 1 });
      expect(await next(a)).toEqual({ result: 3 });
      expect(await next(b)).toEqual({ result: 2 });
    } finally {
      for (const c of clients) await c.close();
      perSession.kill("SIGTERM");
    }
  });

  it("drops a session's instance when the session ends", { timeout: 120_000 }, async () => {
    const hosted = await HostedServer.open({
      path: counter,
      instance: "per-session",
      cacheDir: CACHE,
      pool: { size: 2 },
    });
    try {
      const call = async (session: string) =>
        (await hosted.call("tools.next", {}, { session })).structuredContent;
      expect(await call("a")).toEqual({ result: 1 });
      expect(await call("a")).toEqual({ result: 2 });
      expect(await call("b")).toEqual({ result: 1 });
      hosted.endSession("a");
      expect(await call("a")).toEqual({ result: 1 });
      expect(await call("b")).toEqual({ result: 2 });
    } finally {
      await hosted.close();
    }
  });

  it("refuses --instance values it does not know, and --stateful with another mode", async () => {
    const { spawnSync } = await import("node:child_process");
    const bad = spawnSync(process.execPath, [CLI, "serve", counter, "--instance", "per-user"], {
      env: ENV,
      encoding: "utf8",
    });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--instance takes per-call, per-session or stateful/);
    const both = spawnSync(
      process.execPath,
      [CLI, "serve", counter, "--stateful", "--instance", "per-session"],
      { env: ENV, encoding: "utf8" },
    );
    expect(both.status).not.toBe(0);
    expect(both.stderr).toMatch(/disagree/);
  });
});
