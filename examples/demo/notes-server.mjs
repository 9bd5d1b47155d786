#!/usr/bin/env node
// An example MCP server for `warden demo`: a small notes store (official SDK, stdio).
// Tools: list_notes, read_note, search_notes, write_note, delete_note; resources notes://...
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const notes = new Map([
  ["public/welcome", "Welcome to the notes server."],
  ["public/todo", "Buy milk. Ship the gateway."],
  ["private/diary", "Dear diary, the agent wanted my passwords today."],
]);
const text = (t) => ({ content: [{ type: "text", text: t }] });
const server = new McpServer({ name: "notes", version: "1.0.0" });

server.registerTool("list_notes", { description: "List note names" }, async () =>
  text([...notes.keys()].join("\n")),
);
server.registerTool(
  "read_note",
  { description: "Read a note", inputSchema: { name: z.string() } },
  async ({ name }) =>
    notes.has(name) ? text(notes.get(name)) : { ...text(`no note "${name}"`), isError: true },
);
server.registerTool(
  "search_notes",
  { description: "Search notes", inputSchema: { query: z.string() } },
  async ({ query }) =>
    text(
      [...notes]
        .filter(([, v]) => v.toLowerCase().includes(query.toLowerCase()))
        .map(([k]) => k)
        .join("\n") || "(none)",
    ),
);
server.registerTool(
  "write_note",
  { description: "Write a note", inputSchema: { name: z.string(), text: z.string() } },
  async (a) => {
    notes.set(a.name, a.text);
    return text(`wrote ${a.name}`);
  },
);
server.registerTool(
  "delete_note",
  { description: "Delete a note", inputSchema: { name: z.string() } },
  async ({ name }) => text(notes.delete(name) ? `deleted ${name}` : `no note "${name}"`),
);
server.registerResource(
  "note",
  new ResourceTemplate("notes://{folder}/{name}", {
    list: async () => ({
      resources: [...notes.keys()].map((k) => ({ uri: `notes://${k}`, name: k })),
    }),
  }),
  { description: "A note" },
  async (uri) => ({
    contents: [{ uri: uri.href, text: notes.get(uri.href.slice("notes://".length)) ?? "" }],
  }),
);

await server.connect(new StdioServerTransport());
process.stdin.on("close", () => process.exit(0));
