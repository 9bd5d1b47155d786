/**
 * `warden init --from FILE`: the MCP servers a client already starts, read from its config:
 * Claude Desktop's `claude_desktop_config.json` and Cursor's `.cursor/mcp.json`
 * (`{"mcpServers": {NAME: {command, args, env} | {url, headers}}}`), VS Code's `.vscode/mcp.json`
 * (`{"servers": {NAME: {type, command, args, env, cwd} | {type: "http", url, headers}}}`) and a
 * VS Code settings file (`{"mcp": {"servers": ...}}`). Read with jsonc-parser, the parser VS Code
 * reads these files with (comments and trailing commas allowed).
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, resolve } from "node:path";
import { type ParseError, parse, printParseErrorCode } from "jsonc-parser";
import { WardenError } from "../../core/errors.js";
import { checkUrl, sanitizeName, type UpstreamSpec } from "./spec.js";

function invalid(file: string, message: string): WardenError {
  return new WardenError("init_input_invalid", `${file}: ${message}`, { category: "usage" });
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Line and column (1-based) of an offset, for a parse error. */
function position(text: string, offset: number): string {
  const before = text.slice(0, offset).split("\n");
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

/**
 * The folder `${workspaceFolder}` names for a config file: the parent of `.vscode` or `.cursor`,
 * else the file's own folder.
 */
function workspaceOf(file: string): string {
  const dir = dirname(file);
  return basename(dir) === ".vscode" || basename(dir) === ".cursor" ? dirname(dir) : dir;
}

/**
 * Replace the variables VS Code and Cursor expand that name a place (`${workspaceFolder}`,
 * `${userHome}`); refuse the others (`${env:X}`, `${input:X}`): their values are not known here,
 * and writing a secret's value into warden.yaml would copy it.
 */
function expand(value: string, file: string, where: string): string {
  const ws = workspaceOf(file);
  return value.replace(/\$\{([^}]*)\}/g, (whole, name: string) => {
    if (name === "workspaceFolder" || name === "workspaceRoot") return ws;
    if (name === "workspaceFolderBasename") return basename(ws);
    if (name === "userHome") return homedir();
    if (name === "pathSeparator" || name === "/") return "/";
    throw invalid(
      file,
      `${where} uses ${whole}, which warden init cannot expand: write its value in the file (for a secret, put it in the environment and name it in warden.yaml's env afterwards)`,
    );
  });
}

function strings(v: unknown, file: string, where: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    throw invalid(file, `${where} must be a list of strings`);
  return (v as string[]).map((s, i) => expand(s, file, `${where}[${i}]`));
}

function stringMap(v: unknown, file: string, where: string): Record<string, string> {
  if (v === undefined) return {};
  if (!isObj(v)) throw invalid(file, `${where} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string") throw invalid(file, `${where}.${k} must be a string`);
    out[k] = expand(x, file, `${where}.${k}`);
  }
  return out;
}

/** The servers of one client config file, in file order. `cwd`: where they are started. */
export function readClientConfig(path: string, cwd: string): UpstreamSpec[] {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw invalid(
      file,
      `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); name a client's MCP config file, e.g. claude_desktop_config.json or .vscode/mcp.json`,
    );
  }
  const errors: ParseError[] = [];
  const root = parse(text, errors, {
    allowTrailingComma: true,
    disallowComments: false,
  }) as unknown;
  if (errors.length > 0)
    throw invalid(
      file,
      errors.map((e) => `${position(text, e.offset)} ${printParseErrorCode(e.error)}`).join("\n"),
    );
  const servers = isObj(root)
    ? (root.mcpServers ?? root.servers ?? (isObj(root.mcp) ? root.mcp.servers : undefined))
    : undefined;
  const key = isObj(root) && root.mcpServers !== undefined ? "mcpServers" : "servers";
  if (!isObj(servers) || Object.keys(servers).length === 0)
    throw invalid(
      file,
      `no MCP servers in it: expected "mcpServers" (Claude Desktop, Cursor) or "servers" (VS Code's .vscode/mcp.json) with at least one server`,
    );
  const out: UpstreamSpec[] = [];
  for (const [raw, entry] of Object.entries(servers)) {
    const where = `${key}.${raw}`;
    if (!isObj(entry)) throw invalid(file, `${where} must be an object`);
    const type = entry.type;
    const name = sanitizeName(raw);
    if (typeof entry.url === "string" || type === "http" || type === "sse") {
      if (type === "sse")
        throw invalid(
          file,
          `${where} uses the legacy SSE transport, which the gateway does not speak: point it at the server's Streamable HTTP endpoint (type "http")`,
        );
      if (typeof entry.url !== "string") throw invalid(file, `${where}.url must be a URL`);
      const url = checkUrl(expand(entry.url, file, `${where}.url`), `${file}: ${where}.url`);
      out.push({
        kind: "http",
        name,
        url: url.href,
        headers: stringMap(entry.headers, file, `${where}.headers`),
      });
      continue;
    }
    if (type !== undefined && type !== "stdio")
      throw invalid(file, `${where}.type "${String(type)}" is not one of stdio, http`);
    if (typeof entry.command !== "string" || entry.command === "")
      throw invalid(file, `${where} has neither a command nor a url`);
    if (entry.envFile !== undefined)
      throw invalid(
        file,
        `${where}.envFile is not read by warden init: list the variables the server needs under env`,
      );
    const dir = typeof entry.cwd === "string" ? expand(entry.cwd, file, `${where}.cwd`) : cwd;
    out.push({
      kind: "stdio",
      name,
      command: expand(entry.command, file, `${where}.command`),
      args: strings(entry.args, file, `${where}.args`),
      env: stringMap(entry.env, file, `${where}.env`),
      cwd: resolve(cwd, dir),
    });
  }
  return out;
}
