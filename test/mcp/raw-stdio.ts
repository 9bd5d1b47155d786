/**
 * A raw JSON-RPC client of `warden gateway` over real stdio: it writes the lines a test gives
 * it, exactly, and reads every line the gateway writes, so tests can send what no SDK client
 * would (request methods without ids, ids past 2^53, a second initialize).
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { CLI, until } from "./helpers.js";

type Obj = Record<string, unknown>;

export class RawStdio {
  readonly child: ChildProcessWithoutNullStreams;
  /** Every parsed line the gateway wrote on stdout, in order. */
  readonly lines: Obj[] = [];
  stderr = "";

  constructor(configFile: string) {
    this.child = spawn(process.execPath, [CLI, "gateway", "--config", configFile]);
    createInterface({ input: this.child.stdout }).on("line", (l) => {
      this.lines.push(JSON.parse(l) as Obj);
    });
    this.child.stderr.setEncoding("utf8").on("data", (d: string) => {
      this.stderr += d;
    });
  }

  /** Write one line: an object (as JSON) or a text written as is. */
  write(m: Obj | string): void {
    this.child.stdin.write(`${typeof m === "string" ? m : JSON.stringify(m)}\n`);
  }

  /** The first line (after `from`) that `pred` accepts, waiting for it. */
  async next(pred: (m: Obj) => boolean, what: string, from = 0): Promise<Obj> {
    let found: Obj | undefined;
    await until(
      () => {
        found = this.lines.slice(from).find(pred);
        return found !== undefined;
      },
      15_000,
      `${what}; gateway stderr:\n${this.stderr}`,
    );
    return found!;
  }

  /** Send a request and wait for the answer with its id. */
  async request(id: number | string, method: string, params: Obj = {}): Promise<Obj> {
    const from = this.lines.length;
    this.write({ jsonrpc: "2.0", id, method, params });
    return this.next((m) => m.id === id && !("method" in m), `the answer to ${method}`, from);
  }

  /** initialize as `name`, then notifications/initialized. */
  async initialize(id: number | string, name: string): Promise<Obj> {
    const a = await this.request(id, "initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name, version: "1.0.0" },
    });
    this.write({ jsonrpc: "2.0", method: "notifications/initialized" });
    return a;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.stdin.end();
    await exited;
  }
}
