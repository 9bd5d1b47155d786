/**
 * What `warden init` is asked to put behind the gateway: one `UpstreamSpec` per upstream, from
 * `--upstream "CMD ARGS"`, `--upstream-url URL` or a client's config (`from-client.ts`), with
 * the name it will have in warden.yaml.
 */
import { basename, extname } from "node:path";
import { parse } from "shell-quote";
import { usageError } from "../output.js";

export interface StdioSpec {
  readonly kind: "stdio";
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Absolute working directory the server is started in (and written as `cwd`). */
  readonly cwd: string;
}

export interface HttpSpec {
  readonly kind: "http";
  readonly name: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

export type UpstreamSpec = StdioSpec | HttpSpec;

/** An upstream name as warden.yaml takes it, also as a URI scheme prefix (`<name>+<uri>`). */
export const NAME = /^[a-z][a-z0-9-]*$/;

/** `name=rest`: a leading word that is a valid upstream name followed by "=". */
function splitName(text: string): { name: string | undefined; rest: string } {
  const m = /^([A-Za-z][A-Za-z0-9_-]*)=(\S.*)$/s.exec(text.trim());
  return m ? { name: m[1], rest: m[2]! } : { name: undefined, rest: text };
}

/**
 * `--upstream "[NAME=]COMMAND ARGS..."`: split as a POSIX shell splits words (quotes and
 * backslashes), by shell-quote. Anything a shell would expand or redirect ($VAR, globs, |, >,
 * comments) is refused: the gateway starts the command without a shell, so it would mean
 * something else there.
 */
export function parseUpstreamOption(text: string, cwd: string): StdioSpec {
  const { name, rest } = splitName(text);
  const words: string[] = [];
  const tokens = parse(rest, (key) => ({ op: `$${key}` }) as unknown as string);
  for (const t of tokens) {
    if (typeof t === "string") {
      words.push(t);
      continue;
    }
    const what =
      "comment" in t
        ? `a comment (#${t.comment})`
        : "pattern" in t
          ? `a glob (${t.pattern})`
          : `"${(t as { op: string }).op}"`;
    throw usageError(
      `--upstream "${text}": ${what} is shell syntax, but the gateway starts the command without a shell. Write the command and its arguments only (quote an argument that contains such characters; put environment variables in warden.yaml's env).`,
    );
  }
  if (words.length === 0)
    throw usageError(
      `--upstream "${text}" has no command: write the command that starts the server, e.g. --upstream "npx -y @modelcontextprotocol/server-filesystem ./data"`,
    );
  const [command, ...args] = words as [string, ...string[]];
  return {
    kind: "stdio",
    name: name === undefined ? nameFromCommand(command, args) : checkName(name, text),
    command,
    args,
    env: {},
    cwd,
  };
}

/** `--upstream-url "[NAME=]URL"`: a Streamable HTTP server. */
export function parseUpstreamUrl(text: string): HttpSpec {
  const { name, rest } = splitName(text);
  const url = checkUrl(rest.trim(), `--upstream-url "${text}"`);
  return {
    kind: "http",
    name: name === undefined ? nameFromUrl(url) : checkName(name, text),
    url: url.href,
    headers: {},
  };
}

export function checkUrl(text: string, where: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(`${where}: "${text}" is not a URL; write an http:// or https:// URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw usageError(`${where}: "${text}" is not an http:// or https:// URL`);
  return url;
}

function checkName(name: string, text: string): string {
  const n = sanitizeName(name);
  if (n !== name)
    throw usageError(
      `upstream name "${name}" (in "${text}") cannot prefix tool names and resource URIs: use lower-case letters, digits and "-", starting with a letter (e.g. "${n}")`,
    );
  return n;
}

/** Lower-case letters, digits and "-", starting with a letter; "server" when nothing is left. */
export function sanitizeName(raw: string): string {
  const n = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .replace(/-+/g, "-")
    .replace(/-$/, "");
  return n === "" ? "server" : n;
}

/** The server's name inside a package or file name: server-X, mcp-server-X, X-mcp, mcp-X. */
function serverWord(segment: string): string | undefined {
  const s = segment.replace(/@[^/@]*$/, "").replace(/\.(?:m?js|cjs|ts|py)$/, "");
  const m =
    /^(?:mcp-)?server-(.+)$/.exec(s) ??
    /^(.+?)-mcp(?:-server)?$/.exec(s) ??
    /^mcp-(.+)$/.exec(s) ??
    /^(.+)-server$/.exec(s);
  return m?.[1];
}

/**
 * A name for a command upstream: the server's name in a package or path it names
 * (`@modelcontextprotocol/server-filesystem` and `node_modules/@modelcontextprotocol/
 * server-filesystem/dist/index.js` give "filesystem"), else the first script or argument, else
 * the command.
 */
export function nameFromCommand(command: string, args: readonly string[]): string {
  for (const word of [command, ...args]) {
    if (word.startsWith("-")) continue;
    for (const segment of word.split(/[\\/]/).reverse()) {
      const w = serverWord(segment);
      if (w !== undefined) return sanitizeName(w);
    }
  }
  const script = args.find((a) => !a.startsWith("-"));
  const base = basename(script ?? command);
  return sanitizeName(base.slice(0, base.length - extname(base).length) || base);
}

/** A name for an HTTP upstream: its host's first label that is not an address, else "http". */
export function nameFromUrl(url: URL): string {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (/^[\d.]+$/.test(host) || host.includes(":") || host === "localhost") return "http";
  return sanitizeName(host.replace(/^(?:www|api|mcp)\./, "").split(".")[0] ?? "http");
}

/** Make names unique in order: a second "files" becomes "files-2". */
export function uniqueNames<T extends { name: string }>(specs: readonly T[]): T[] {
  const seen = new Set<string>();
  return specs.map((s) => {
    let name = s.name;
    for (let i = 2; seen.has(name); i++) name = `${s.name}-${i}`;
    seen.add(name);
    return name === s.name ? s : { ...s, name };
  });
}
