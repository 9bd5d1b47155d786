/**
 * A naive MCP pass-through proxy built only from the SDK's high-level pieces (Server with
 * handlers forwarding to a Client), with the SDK's Streamable HTTP server transport in front:
 * the baseline the gateway is compared with. `naive-proxy.js <upstream-url>`.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const upstream = new Client({ name: "naive-proxy", version: "1.0.0" });
await upstream.connect(new StreamableHTTPClientTransport(new URL(process.argv[2]!)));

function makeServer(): Server {
  const s = new Server({ name: "naive-proxy", version: "1.0.0" }, { capabilities: { tools: {} } });
  s.setRequestHandler(ListToolsRequestSchema, (req) => upstream.listTools(req.params));
  s.setRequestHandler(CallToolRequestSchema, (req) => upstream.callTool(req.params));
  return s;
}

const transports = new Map<string, StreamableHTTPServerTransport>();
const http = createServer(async (req, res) => {
  const sid = req.headers["mcp-session-id"];
  let t = typeof sid === "string" ? transports.get(sid) : undefined;
  if (t === undefined) {
    t = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      enableJsonResponse: true,
      onsessioninitialized: (id) => {
        transports.set(id, t!);
      },
    });
    await makeServer().connect(t);
  }
  await t.handleRequest(req, res);
});
http.keepAliveTimeout = 65_000;
http.listen(0, "127.0.0.1", () => {
  const a = http.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ listening: `http://127.0.0.1:${a.port}/mcp` })}\n`);
});
process.on("SIGTERM", () => process.exit(0));
