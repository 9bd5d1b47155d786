/**
 * A HostedServer as an MCP server (the official SDK's `Server`) on any transport: stdio for
 * `warden serve`, an in-memory pair for a gateway upstream.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { HostedServer } from "./server.js";

export const SERVER_NAME = "warden-serve";

export function mcpServerOf(hosted: HostedServer, version = "0.1.0"): Server {
  const server = new Server(
    { name: SERVER_NAME, version },
    { capabilities: { tools: { listChanged: true } } },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: hosted.tools() }));
  server.setRequestHandler(CallToolRequestSchema, async (req) =>
    hosted.call(req.params.name, req.params.arguments as Record<string, unknown> | undefined),
  );
  return server;
}

export async function serveOn(hosted: HostedServer, transport: Transport): Promise<Server> {
  const server = mcpServerOf(hosted);
  await server.connect(transport);
  return server;
}
