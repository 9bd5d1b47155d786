/**
 * Client transports to upstream MCP servers: the SDK's stdio transport (its spawn and kill
 * logic, with a lean read buffer), and for Streamable HTTP one client on undici
 * (http-client.ts).
 */
import type { Writable } from "node:stream";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { WardenError } from "../core/errors.js";

import { MESSAGE_LIMITS, type MessageLimits, type UpstreamConfig } from "./config-types.js";
import { type HttpClientOptions, HttpClientTransport } from "./http-client.js";

import type { Message } from "./jsonrpc.js";
import { LeanReadBuffer } from "./lean-read-buffer.js";

/** Every child process the gateway started and has not seen exit; killed on process exit. */
export const liveChildren = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of liveChildren) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {}
    }
  });
}

export interface UpstreamTransport {
  transport: Transport;
  /** Set the negotiated protocol version (HTTP sends it as a header). */
  setProtocolVersion(v: string): void;
  pid(): number | null;
  /**
   * A send without a Promise, where the transport has one (stdio: one write to the child's
   * stdin; HTTP: a POST dispatched on the upstream's pool); `onFail` hears of a failure.
   */
  write?(m: unknown, onFail: (e: Error) => void): void;
  /**
   * While the transport's `onmessage` runs: the exact text of that message, where the transport
   * keeps it (stdio and HTTP), so an answer can be forwarded without serializing it again.
   */
  lastRaw?(): string | undefined;
  /**
   * While the transport's `onmessage` runs: the id of the request whose answer stream carried
   * that message (Streamable HTTP: a POST's SSE stream), undefined when none did.
   */
  related?(): unknown;
}

/** Make the transport; the SDK module of each kind is loaded only when a config uses it. */
export async function createUpstreamTransport(
  cfg: UpstreamConfig,
  limits: MessageLimits = MESSAGE_LIMITS,
): Promise<UpstreamTransport> {
  if (cfg.kind === "stdio") {
    const { StdioClientTransport } = await import("@modelcontextprotocol/sdk/client/stdio.js");
    installExitHook();
    const params: ConstructorParameters<typeof StdioClientTransport>[0] = {
      command: cfg.command,
      args: [...cfg.args],
      env: { ...cfg.env },
      stderr: "inherit",
    };
    if (cfg.cwd !== undefined) params.cwd = cfg.cwd;
    const t = new StdioClientTransport(params);
    // The SDK's own spawn, close and kill logic, with a read buffer that skips the zod pass.
    const reader = new LeanReadBuffer(cfg.maxAnswerBytes, limits.jsonDepth, cfg.name);
    (t as unknown as { _readBuffer: LeanReadBuffer })._readBuffer = reader;
    const start = t.start.bind(t);
    let pid: number | null = null;
    t.start = async () => {
      await start();
      pid = t.pid;
      if (pid !== null) liveChildren.add(pid);
    };
    const close = t.close.bind(t);
    t.close = async () => {
      await close();
      if (pid !== null) liveChildren.delete(pid);
    };
    // The SDK's send wraps each write in a Promise and serializes through a helper; write directly.
    const proc = () => (t as unknown as { _process?: { stdin?: Writable | null } })._process;
    const write = (m: unknown, onFail: (e: Error) => void) => {
      const stdin = proc()?.stdin;
      if (stdin == null) return onFail(new Error("not connected"));
      try {
        stdin.write(`${JSON.stringify(m)}\n`);
      } catch (e) {
        onFail(e as Error);
      }
    };
    return {
      transport: t,
      setProtocolVersion: () => {},
      pid: () => t.pid,
      write,
      lastRaw: () => reader.last,
    };
  }
  const headers: Record<string, string> = { ...cfg.headers };
  if (cfg.bearerEnv !== undefined) {
    const token = process.env[cfg.bearerEnv];
    if (token === undefined || token === "")
      throw new WardenError(
        "upstream_failed",
        `Upstream "${cfg.name}" wants a bearer token from $${cfg.bearerEnv}, which is not set. Export it before starting the gateway.`,
        { category: "config", details: { upstream: cfg.name, env: cfg.bearerEnv } },
      );
    headers.authorization = `Bearer ${token}`;
  }
  const opts: HttpClientOptions = { jsonDepth: limits.jsonDepth };
  if (cfg.maxAnswerBytes !== undefined) opts.maxAnswer = cfg.maxAnswerBytes;
  const t = new HttpClientTransport(new URL(cfg.url), headers, opts);
  return {
    transport: t,
    setProtocolVersion: (v) => t.setProtocolVersion(v),
    pid: () => null,
    write: (m, onFail) => t.post(m as Message, onFail),
    lastRaw: () => t.lastRaw,
    related: () => t.related,
  };
}
