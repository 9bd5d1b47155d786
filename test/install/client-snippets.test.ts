// The client snippets of docs/install.md (Claude Desktop, VS Code, Cursor) and docs/gateway.md
// have the shape each client documents, start the installed `warden` binary (never `npx warden`,
// which looks the name up on the registry, where Warden is not published), and their command
// line is one `warden gateway --check` accepts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(ROOT, "dist", "cli", "main.js");
const CONFIG = join(ROOT, "examples", "warden.stdio.yaml");
const cwd = mkdtempSync(join(tmpdir(), "warden-snippets-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** The first ```json block after the heading `heading` in `file`, parsed. */
function snippetAfter(file: string, heading: string): Record<string, unknown> {
  const text = readFileSync(join(ROOT, file), "utf8");
  const at = text.indexOf(`\n${heading}\n`);
  expect(at, `${file} has a heading "${heading}"`).toBeGreaterThan(-1);
  const m = /```json\n([\s\S]*?)```/.exec(text.slice(at));
  expect(m, `${file}: a json block after "${heading}"`).not.toBeNull();
  return JSON.parse(m![1]!) as Record<string, unknown>;
}

type Server = Record<string, unknown>;

/** Claude Desktop and Cursor: { mcpServers: { name: { command, args?, env? } } }. */
function mcpServers(doc: Record<string, unknown>, extra: string[] = []): Server[] {
  expect(Object.keys(doc)).toEqual(["mcpServers"]);
  const servers = Object.values(doc.mcpServers as Record<string, Server>);
  for (const s of servers) {
    for (const k of Object.keys(s)) expect(["command", "args", "env", ...extra]).toContain(k);
  }
  return servers;
}

/** VS Code: { servers: { name: { type: "stdio", command, args?, env?, envFile? } }, inputs? }. */
function vscodeServers(doc: Record<string, unknown>): Server[] {
  for (const k of Object.keys(doc)) expect(["servers", "inputs"]).toContain(k);
  const servers = Object.values(doc.servers as Record<string, Server>);
  for (const s of servers) {
    expect(s.type).toBe("stdio");
    for (const k of Object.keys(s)) {
      expect(["type", "command", "args", "env", "envFile"]).toContain(k);
    }
  }
  return servers;
}

/** The server starts the installed warden's stdio gateway, and --check accepts its arguments. */
function checkCommandLine(s: Server): void {
  expect(s.command).toBe("warden");
  const args = s.args as string[];
  expect(Array.isArray(args) && args.every((a) => typeof a === "string")).toBe(true);
  expect(args.slice(0, 2)).toEqual(["gateway", "--config"]);
  const path = args[2]!;
  expect(path.startsWith("/abs/path/"), `${path}: the placeholder of an absolute path`).toBe(true);
  const real = args.map((a) => (a === path ? CONFIG : a));
  const r = spawnSync(process.execPath, [CLI, ...real, "--check"], { cwd, encoding: "utf8" });
  expect(r.status, `warden ${real.join(" ")} --check: ${r.stderr}`).toBe(0);
  expect(readdirSync(cwd)).toEqual([]);
}

describe("client snippets", () => {
  it("Claude Desktop (claude_desktop_config.json): mcpServers with command and args", () => {
    const servers = mcpServers(snippetAfter("docs/install.md", "### Claude Desktop"));
    expect(servers).toHaveLength(1);
    servers.forEach(checkCommandLine);
  });

  it("VS Code (.vscode/mcp.json): servers with type stdio, command and args", () => {
    const servers = vscodeServers(snippetAfter("docs/install.md", "### VS Code"));
    expect(servers).toHaveLength(1);
    servers.forEach(checkCommandLine);
  });

  it("Cursor (.cursor/mcp.json): mcpServers with command and args", () => {
    const servers = mcpServers(snippetAfter("docs/install.md", "### Cursor"), ["envFile"]);
    expect(servers).toHaveLength(1);
    servers.forEach(checkCommandLine);
  });

  it("docs/gateway.md's stdio client snippet starts the installed binary too", () => {
    const doc = snippetAfter(
      "docs/gateway.md",
      "### Claude Desktop, VS Code, Cursor (or any stdio client)",
    );
    mcpServers(doc).forEach(checkCommandLine);
  });
});

describe("no document runs `npx warden`", () => {
  function markdown(dir: string): string[] {
    const out: string[] = [];
    for (const name of readdirSync(dir)) {
      if (name === "node_modules" || name.startsWith(".")) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) out.push(...markdown(p));
      else if (/\.(md|ya?ml|json)$/.test(name)) out.push(p);
    }
    return out;
  }

  it("README, docs and examples name a tarball, a checkout or the installed binary instead", () => {
    const files = [
      join(ROOT, "README.md"),
      ...markdown(join(ROOT, "docs")),
      ...markdown(join(ROOT, "examples")),
    ];
    const found: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      // `npx warden`, `npx -y warden`, or a client config running npx with "warden" first.
      const bad =
        /\bnpx\s+(-y\s+|--yes\s+)?warden\b/.exec(text) ??
        /"command":\s*"npx",\s*"args":\s*\[\s*("-y",\s*)?"warden"/.exec(text);
      if (bad !== null) found.push(`${relative(ROOT, f)}: ${bad[0]}`);
    }
    expect(found).toEqual([]);
  });
});
