/**
 * `warden gateway` as a child process driven by a raw NDJSON client: the tests can send what no
 * SDK client would (garbage, huge lines, deep nesting), not read at all, and see the gateway exit.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { CLI } from "./helpers.js";

export const HOSTILE = join(import.meta.dirname, "fixtures/hostile-server.mjs");

/** A stdio upstream entry running the hostile server. */
export function hostileUpstream(name: string, extra = ""): string {
  return `  - name: ${name}\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(HOSTILE)}]\n${extra}`;
}

type Msg = Record<string, unknown> & { id?: unknown; method?: string };

export class RawGateway {
  readonly child: ChildProcess;
  stderr = "";
  readonly messages: Msg[] = [];
  exit: { code: number | null; signal: string | null } | undefined;
  readonly exited: Promise<void>;
  #waiters: (() => void)[] = [];
  #buf = "";

  constructor(configFile: string, env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [CLI, "gateway", "--config", configFile, "--no-watch"], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    this.child.stdout!.setEncoding("utf8");
    this.child.stdout!.on("data", (d: string) => {
      this.#buf += d;
      let nl = this.#buf.indexOf("\n");
      while (nl >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        try {
          this.messages.push(JSON.parse(line) as Msg);
        } catch {
          this.messages.push({ unparsable: line });
        }
        nl = this.#buf.indexOf("\n");
      }
      this.#wake();
    });
    this.child.stderr!.on("data", (d: Buffer) => {
      this.stderr += String(d);
      this.#wake();
    });
    this.child.stdin!.on("error", () => {});
    this.exited = new Promise((r) =>
      this.child.on("exit", (code, signal) => {
        this.exit = { code, signal };
        this.#wake();
        r();
      }),
    );
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolve when `cond()` holds; reject (naming `what` and the gateway's stderr) after `ms`. */
  async until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end)
        throw new Error(`timed out waiting for ${what}; gateway stderr:\n${this.stderr}`);
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  write(text: string | Buffer): void {
    this.child.stdin!.write(text);
  }

  send(m: unknown): void {
    this.write(`${JSON.stringify(m)}\n`);
  }

  /** Send a request and wait for the message with its id (from the gateway). */
  async request(
    id: number | string,
    method: string,
    params: unknown = {},
    ms = 30_000,
  ): Promise<Msg> {
    this.send({ jsonrpc: "2.0", id, method, params });
    return this.answer(id, ms);
  }

  async answer(id: unknown, ms = 30_000): Promise<Msg> {
    let found: Msg | undefined;
    await this.until(
      () => {
        if (this.exit !== undefined)
          throw new Error(
            `the gateway exited (${JSON.stringify(this.exit)}); stderr:\n${this.stderr}`,
          );
        found = this.messages.find((m) => m.id === id && m.method === undefined);
        return found !== undefined;
      },
      `the answer to request ${String(id)}`,
      ms,
    );
    return found!;
  }

  /** initialize + notifications/initialized. */
  async initialize(capabilities: Record<string, unknown> = {}): Promise<Msg> {
    const a = await this.request("init", "initialize", {
      protocolVersion: "2025-06-18",
      capabilities,
      clientInfo: { name: "raw", version: "1.0.0" },
    });
    this.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    return a;
  }

  async call(id: number | string, name: string, args: Record<string, unknown> = {}, ms?: number) {
    return this.request(id, "tools/call", { name, arguments: args }, ms);
  }

  /** Close stdin (the gateway stops) and wait for the exit. */
  async close(): Promise<void> {
    if (this.exit === undefined) {
      this.child.stdin!.end();
      const t = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
      await this.exited;
      clearTimeout(t);
    }
  }
}
