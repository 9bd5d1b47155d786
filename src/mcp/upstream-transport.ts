/**
 * Client transports to upstream MCP servers, both Warden's own implementations of the SDK's
 * public `Transport` interface: stdio (stdio-client.ts, loaded only when a config has a stdio
 * upstream) and Streamable HTTP on undici (http-client.ts).
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { WardenError } from "../core/errors.js";

import { MESSAGE_LIMITS, type MessageLimits, type UpstreamConfig } from "./config-types.js";
import { type HttpClientOptions, HttpClientTransport } from "./http-client.js";

import type { Message } from "./jsonrpc.js";

export interface UpstreamTransport {
  transport: Transport;
  /** Set the negotiated protocol version (HTTP sends it as a header). */
  setProtocolVersion(v: string): void;
  pid(): number | null;
  /**
   * A send without a Promise, where the transport has one (stdio: one write to the child's
   * stdin; HTTP: a POST dispatched on the upstream's pool); `onFail` hears of a failure.
   * `trace`: the call's trace headers (name, value, ...), which HTTP sends with it.
   */
  write?(m: unknown, onFail: (e: Error) => void, trace?: readonly string[]): void;
  /**
   * Where the transport delivers each message with what it knows of it (`Received`), in place of
   * its `onmessage`; absent when it only has `onmessage` (a shared upstream's channel).
   */
  receive?(to: (r: Received) => void): void;
}

/** One message from an upstream, as its transport read it. */
export interface Received {
  message: Message;
  /** Its exact text when it came alone, so an answer can be forwarded without serializing it. */
  raw: string | undefined;
  /** The request whose answer stream carried it (Streamable HTTP: a POST's SSE), if any. */
  related: unknown;
}

/** Make the transport of the upstream's kind. */
export async function createUpstreamTransport(
  cfg: UpstreamConfig,
  limits: MessageLimits = MESSAGE_LIMITS,
): Promise<UpstreamTransport> {
  if (cfg.kind === "component") {
    const { componentTransport } = await import("./component-upstream.js");
    return componentTransport(cfg);
  }
  if (cfg.kind === "stdio") {
    const { StdioClientTransport } = await import("./stdio-client.js");
    const t = new StdioClientTransport({
      command: cfg.command,
      args: cfg.args,
      env: cfg.env,
      cwd: cfg.cwd,
      maxBytes: cfg.maxAnswerBytes,
      jsonDepth: limits.jsonDepth,
      upstream: cfg.name,
    });
    return {
      transport: t,
      setProtocolVersion: () => {},
      pid: () => t.pid,
      write: (m, onFail) => t.write(m, onFail),
      receive: (to) => {
        t.onreceive = to;
      },
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
    write: (m, onFail, trace) => t.post(m as Message, onFail, undefined, true, trace),
    receive: (to) => {
      t.onreceive = to;
    },
  };
}
