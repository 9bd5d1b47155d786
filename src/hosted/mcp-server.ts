/**
 * A HostedServer as an MCP server (the official SDK's `Server`) on any transport: stdio for
 * `warden serve`, an in-memory pair for a gateway upstream.
 */
import { randomUUID } from "node:crypto";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  CallToolRequestSchema,
  CancelledNotificationSchema,
  ListToolsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { HostedServer } from "./server.js";

export const SERVER_NAME = "warden-serve";

export interface ServeOptions {
  /** Put each call's host calls in the answer's `_meta["warden/host_calls"]` (a gateway upstream). */
  hostCallsInMeta?: boolean;
}

export function mcpServerOf(hosted: HostedServer, opts: ServeOptions = {}): Server {
  const server = new Server(
    { name: SERVER_NAME, version: "0.1.0" },
    { capabilities: { tools: { listChanged: true } } },
  );
  // One MCP server is one session: per-session components keep one instance for it, dropped
  // when it closes.
  const session = randomUUID();
  server.onclose = () => hosted.endSession(session);
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: hosted.tools() }));
  // A reload that changed the components: the client lists again.
  const stop = hosted.onReload((r) => {
    if (r.ok) server.sendToolListChanged().catch(() => {});
  });
  // A gateway upstream: a cancel (the client's, or the gateway's request_timeout_ms) does not
  // drop the answer. The call cannot be stopped half-way in its worker anyway (its deadline
  // still ends it), and its answer carries the host calls it made, which the gateway audits
  // even though nobody waits for the answer any more (src/mcp/session-calls.ts, late answers).
  // A call still waiting for a core (resources.limits.cpu) is dropped from the queue, though.
  // Its signal is its own controller's, aborted by that cancel or by the session's close (the
  // SDK's own request signal aborts only then, as the SDK's cancel handler is replaced here):
  // no AbortSignal.any per call (tens of µs in Node, its listeners included).
  const waiting = new Map<string | number, AbortController>();
  const closed = server.onclose;
  server.onclose = () => {
    stop();
    for (const c of waiting.values()) c.abort();
    closed?.();
  };
  if (opts.hostCallsInMeta === true)
    server.setNotificationHandler(CancelledNotificationSchema, (n) => {
      const id = n.params.requestId;
      if (id !== undefined) waiting.get(id)?.abort();
    });
  let client: { info: unknown; name: string | undefined } = { info: undefined, name: undefined };
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const info = server.getClientVersion();
    if (info !== client.info)
      client = { info, name: info === undefined ? undefined : `${info.name}@${info.version}` };
    // `warden serve` over stdio: the SDK's request signal (a client's cancel, the close).
    let signal = extra.signal;
    if (opts.hostCallsInMeta === true) {
      const own = new AbortController();
      waiting.set(extra.requestId, own);
      signal = own.signal;
    }
    try {
      return await hosted.call(
        req.params.name,
        req.params.arguments as Record<string, unknown> | undefined,
        {
          session,
          signal,
          ...(client.name === undefined ? {} : { client: client.name }),
          ...(opts.hostCallsInMeta === true ? { hostCallsInMeta: true } : {}),
        },
      );
    } finally {
      if (opts.hostCallsInMeta === true) waiting.delete(extra.requestId);
    }
  });
  return server;
}

export async function serveOn(
  hosted: HostedServer,
  transport: Transport,
  opts: ServeOptions = {},
): Promise<Server> {
  const server = mcpServerOf(hosted, opts);
  await server.connect(transport);
  return server;
}
