/**
 * Gateway instances as real `warden gateway` processes (the CLI, HTTP on a free port), and a
 * round-robin fetch that spreads an SDK client's requests over them like a load balancer.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { CLI } from "../mcp/helpers.js";

export interface Instance {
  readonly child: ChildProcess;
  /** Its MCP endpoint, from its "listening on" line. */
  readonly url: string;
  /** What it wrote on stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/** `warden gateway --config file --port 0` with `env`; resolves once it listens. */
export async function startInstance(
  file: string,
  env: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<Instance> {
  const child = spawn(process.execPath, [CLI, "gateway", "--config", file, "--port", "0"], {
    env,
    ...(cwd === undefined ? {} : { cwd }),
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  const url = await new Promise<string>((ok, fail) => {
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /listening on (https?:\/\/\S+)/.exec(err);
      if (m) ok(m[1]!);
    });
    child.once("exit", (code) => fail(new Error(`gateway exited (${code}): ${err}`)));
  });
  return {
    child,
    url,
    stderr: () => err,
    stop: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null || child.signalCode !== null) return r();
        child.once("exit", () => r());
        child.kill("SIGTERM");
      }),
  };
}

/** Each request goes to the next of `urls` in turn (path and query kept). */
export function roundRobin(urls: readonly string[], start = 0): FetchLike & { sent: string[] } {
  let i = start;
  const sent: string[] = [];
  const f = (url: string | URL, init?: RequestInit) => {
    const u = new URL(url);
    const to = urls[i++ % urls.length]!;
    u.host = new URL(to).host;
    sent.push(to);
    return fetch(u, init);
  };
  return Object.assign(f, { sent });
}
