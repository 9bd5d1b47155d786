/**
 * The benchmark's upstream: an SDK McpServer with one `echo` tool, over stdio (default) or
 * Streamable HTTP (`--http`, JSON answers, one session per client). Prints
 * `{"listening": url}` once an HTTP server listens.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

function makeServer(): McpServer {
  const s = new McpServer({ name: "bench-echo", version: "1.0.0" });
  s.registerTool(
    "echo",
    { description: "Echo the text", inputSchema: { text: z.string() } },
    async ({ text }) => ({
      content: [{ type: "text", text }],
    }),
  );
  return s;
}

if (process.argv.includes("--http")) {
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
} else {
  await makeServer().connect(new StdioServerTransport());
  process.stdin.on("close", () => process.exit(0));
}
