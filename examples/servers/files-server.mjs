#!/usr/bin/env node
// An example MCP server for the gateway examples (official SDK, stdio): a directory served
// read-only under the virtual root /data, with tools named as @modelcontextprotocol/server-filesystem
// names them. Usage: node files-server.mjs [DIR] (default ./data, relative to its cwd).
//
// Paths are /data/... whatever DIR is, so a policy can name them (policy paths are absolute)
// wherever Warden is installed; the gateway config marks it `paths: remote` (judged as strings).
// The server still refuses anything outside DIR itself, through symbolic links too.
// write_file never touches the disk: what it is given is kept in memory for the session.
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join, posix, relative, resolve, sep } from "node:path";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const ROOT = realpathSync(resolve(process.argv[2] ?? "data"));
const written = new Map(); // virtual path -> text (write_file; never on disk)

const text = (t) => ({ content: [{ type: "text", text: t }] });
const fail = (t) => ({ ...text(t), isError: true });

/** The real file under ROOT that a /data/... path names, or an Error saying why not. */
function real(path) {
  const p = posix.normalize(String(path));
  if (p !== "/data" && !p.startsWith("/data/")) return new Error(`${path} is not under /data`);
  const file = join(ROOT, ...p.slice("/data".length).split("/").filter(Boolean));
  let r;
  try {
    r = realpathSync(file);
  } catch {
    return new Error(`${path} does not exist`);
  }
  const rel = relative(ROOT, r);
  if (rel.startsWith("..") || rel.split(sep).includes(".."))
    return new Error(`${path} leaves /data`);
  return r;
}

/** Every file under ROOT, as /data/... paths. */
function walk(dir = ROOT, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const f = join(dir, e.name);
    if (e.isDirectory()) walk(f, out);
    else if (e.isFile()) out.push(`/data/${relative(ROOT, f).split(sep).join("/")}`);
  }
  return out;
}

const server = new McpServer({ name: "example-files", version: "1.0.0" });
const path = z.string().describe("A path under /data");

server.registerTool(
  "read_text_file",
  { description: "Read a text file", inputSchema: { path }, annotations: { readOnlyHint: true } },
  async (a) => {
    if (written.has(posix.normalize(a.path))) return text(written.get(posix.normalize(a.path)));
    const f = real(a.path);
    if (f instanceof Error) return fail(f.message);
    if (!statSync(f).isFile()) return fail(`${a.path} is not a file`);
    return text(readFileSync(f, "utf8"));
  },
);
server.registerTool(
  "list_directory",
  { description: "List a directory", inputSchema: { path }, annotations: { readOnlyHint: true } },
  async (a) => {
    const f = real(a.path);
    if (f instanceof Error) return fail(f.message);
    if (!statSync(f).isDirectory()) return fail(`${a.path} is not a directory`);
    const entries = readdirSync(f, { withFileTypes: true });
    return text(entries.map((e) => `${e.isDirectory() ? "[DIR]" : "[FILE]"} ${e.name}`).join("\n"));
  },
);
server.registerTool(
  "search_files",
  {
    description: "Find files whose name contains a pattern",
    inputSchema: { path, pattern: z.string() },
    annotations: { readOnlyHint: true },
  },
  async (a) => {
    const f = real(a.path);
    if (f instanceof Error) return fail(f.message);
    const base = posix.normalize(a.path);
    const hits = walk().filter((p) => p.startsWith(base) && posix.basename(p).includes(a.pattern));
    return text(hits.join("\n") || "(none)");
  },
);
server.registerTool(
  "get_file_info",
  {
    description: "Size and kind of a file",
    inputSchema: { path },
    annotations: { readOnlyHint: true },
  },
  async (a) => {
    const f = real(a.path);
    if (f instanceof Error) return fail(f.message);
    const s = statSync(f);
    return text(JSON.stringify({ size: s.size, directory: s.isDirectory() }));
  },
);
server.registerTool(
  "list_allowed_directories",
  { description: "The directories this server serves", annotations: { readOnlyHint: true } },
  async () => text("/data"),
);
server.registerTool(
  "write_file",
  {
    description: "Write a text file (kept in memory: the example never changes its files)",
    inputSchema: { path, content: z.string() },
    annotations: { destructiveHint: true },
  },
  async (a) => {
    const p = posix.normalize(a.path);
    if (!p.startsWith("/data/")) return fail(`${a.path} is not under /data`);
    written.set(p, a.content);
    return text(`wrote ${p}`);
  },
);
for (const p of walk())
  server.registerResource(p, `file://${p}`, { description: `The file ${p}` }, async (uri) => {
    const f = real(p);
    return {
      contents: [{ uri: uri.href, text: f instanceof Error ? "" : readFileSync(f, "utf8") }],
    };
  });

await server.connect(new StdioServerTransport());
process.stdin.on("close", () => process.exit(0));
