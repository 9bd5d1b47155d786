/**
 * `warden` as a child process with the tests' component cache (WARDEN_CACHE_DIR): a real SDK
 * client over its stdio, or a `serve --http` and the URL it listens on.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CLI } from "../mcp/helpers.js";
import { CACHE } from "./build.js";

export const ENV = { ...process.env, WARDEN_CACHE_DIR: CACHE } as Record<string, string>;

/** An SDK client named `name` connected to `warden <args>` over its stdio. */
export async function cliClient(args: readonly string[], name: string): Promise<Client> {
  const t = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, ...args],
    env: ENV,
    stderr: "pipe",
  });
  const c = new Client({ name, version: "1" });
  await c.connect(t);
  return c;
}

/**
 * `warden <args>` (a `serve ... --http 127.0.0.1:0`): the child, and its URL from its
 * "listening on" line (rejected with its stderr if it exits before). Kill the child when done.
 */
export function serveHttp(args: readonly string[]): {
  child: ChildProcessByStdio<null, null, Readable>;
  url: Promise<string>;
} {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: ENV,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const url = new Promise<string>((ok, fail) => {
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) ok(m[1]!);
    });
    child.on("exit", () => fail(new Error(`warden serve --http exited: ${err}`)));
  });
  return { child, url };
}
