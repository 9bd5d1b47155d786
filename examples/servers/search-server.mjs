#!/usr/bin/env node
// An example MCP server for the gateway examples (official SDK, stdio): a search over a small
// built-in corpus, and a prompt. Tools: search; prompts: summarize. Nothing is read or written
// on disk.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const PAGES = [
  ["https://modelcontextprotocol.io/", "Model Context Protocol: connect AI applications to tools"],
  ["https://example.com/warden", "Warden: a policy gateway in front of MCP servers"],
  ["https://example.com/audit", "Reading an audit log: one JSON line per decision"],
  ["https://example.com/yaml", "YAML configs with a JSON Schema for editors"],
];
const text = (t) => ({ content: [{ type: "text", text: t }] });
const server = new McpServer({ name: "example-search", version: "1.0.0" });

server.registerTool(
  "search",
  {
    description: "Search the example corpus",
    inputSchema: { query: z.string(), limit: z.number().int().min(1).max(50).optional() },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  async ({ query, limit }) => {
    const q = query.toLowerCase();
    const hits = PAGES.filter(([u, t]) => `${u} ${t}`.toLowerCase().includes(q)).slice(
      0,
      limit ?? 10,
    );
    return text(hits.map(([u, t]) => `${t}\n  ${u}`).join("\n") || "(no results)");
  },
);
server.registerPrompt(
  "summarize",
  { description: "Ask for a summary of a topic", argsSchema: { topic: z.string() } },
  ({ topic }) => ({
    messages: [
      { role: "user", content: { type: "text", text: `Summarize what you know about ${topic}.` } },
    ],
  }),
);

await server.connect(new StdioServerTransport());
process.stdin.on("close", () => process.exit(0));
