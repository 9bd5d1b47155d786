/**
 * The stdio client transport (the SDK's public `Transport` interface) to stdio upstreams: spawn
 * the command (node:child_process, no shell), write one JSON line per message to its stdin, and
 * read its stdout through a bounded, linear-time reader (lean-read-buffer.ts). Close ends stdin,
 * then sends SIGTERM, then SIGKILL, 2 s apart, as the SDK's transport does.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { Message } from "./jsonrpc.js";
import { LeanReadBuffer } from "./lean-read-buffer.js";
import type { Received } from "./upstream-transport.js";

/** Every child process the gateway started and has not seen exit; killed on process exit. */
export const liveChildren = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of liveChildren) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {}
    }
  });
}

export interface StdioClientOptions {
  command: string;
  args: readonly string[];
  /** Added to the SDK's default inherited environment (HOME, PATH, …). */
  env: Readonly<Record<string, string>>;
  cwd?: string | undefined;
  /** The bound of one line from the upstream, in bytes (upstreams[].max_answer_bytes). */
  maxBytes?: number | undefined;
  /** How deep a message may nest (limits.json_depth). */
  jsonDepth?: number | undefined;
  /** The upstream's name, for the errors sent in place of refused answers. */
  upstream: string;
}

const GRACE_MS = 2_000;

export class StdioClientTransport implements Transport {
  onmessage?: Transport["onmessage"];
  onerror?: (e: Error) => void;
  onclose?: () => void;
  /** When set, each message goes here with its exact text, instead of to `onmessage`. */
  onreceive?: (r: Received) => void;
  readonly #opts: StdioClientOptions;
  readonly #reader: LeanReadBuffer;
  #proc: ChildProcess | undefined;
  #pid: number | null = null;

  constructor(opts: StdioClientOptions) {
    this.#opts = opts;
    this.#reader = new LeanReadBuffer(opts.maxBytes, opts.jsonDepth, opts.upstream);
  }

  /** The child's pid while it runs, null before start and after it exits. */
  get pid(): number | null {
    return this.#proc?.pid ?? null;
  }

  start(): Promise<void> {
    if (this.#proc !== undefined) return Promise.reject(new Error("already started"));
    installExitHook();
    const o = this.#opts;
    return new Promise((resolve, reject) => {
      const proc = spawn(o.command, [...o.args], {
        env: { ...getDefaultEnvironment(), ...o.env },
        stdio: ["pipe", "pipe", "inherit"],
        shell: false,
        cwd: o.cwd,
      });
      this.#proc = proc;
      proc.on("error", (e) => {
        reject(e);
        this.onerror?.(e);
      });
      proc.on("spawn", () => {
        this.#pid = proc.pid ?? null;
        if (this.#pid !== null) liveChildren.add(this.#pid);
        resolve();
      });
      proc.on("close", () => {
        if (this.#pid !== null) liveChildren.delete(this.#pid);
        if (this.#proc === proc) this.#proc = undefined;
        this.onclose?.();
      });
      proc.stdin?.on("error", (e) => this.onerror?.(e));
      proc.stdout?.on("error", (e) => this.onerror?.(e));
      proc.stdout?.on("data", (chunk: Buffer) => this.#read(chunk));
    });
  }

  #read(chunk: Buffer): void {
    this.#reader.append(chunk);
    for (;;) {
      let m: unknown;
      try {
        m = this.#reader.readMessage();
      } catch (e) {
        this.onerror?.(e as Error);
        continue;
      }
      if (m === null) return;
      if (this.onreceive === undefined) this.onmessage?.(m as never);
      else this.onreceive({ message: m as Message, raw: this.#reader.last, related: undefined });
    }
  }

  /** A send without a Promise: one write to the child's stdin; `onFail` hears of a failure. */
  write(m: unknown, onFail: (e: Error) => void): void {
    const stdin = this.#proc?.stdin;
    if (stdin == null) {
      onFail(new Error("not connected"));
      return;
    }
    try {
      stdin.write(`${JSON.stringify(m)}\n`);
    } catch (e) {
      onFail(e as Error);
    }
  }

  send(message: Parameters<Transport["send"]>[0]): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.#proc?.stdin;
      if (stdin == null) return reject(new Error("not connected"));
      if (stdin.write(`${JSON.stringify(message)}\n`)) resolve();
      else stdin.once("drain", resolve);
    });
  }

  async close(): Promise<void> {
    const proc = this.#proc;
    this.#proc = undefined;
    if (proc !== undefined) {
      const closed = new Promise<void>((resolve) => proc.once("close", () => resolve()));
      const grace = () =>
        Promise.race([closed, new Promise<void>((r) => setTimeout(r, GRACE_MS).unref())]);
      try {
        proc.stdin?.end();
      } catch {}
      await grace();
      for (const signal of ["SIGTERM", "SIGKILL"] as const) {
        if (proc.exitCode !== null || proc.signalCode !== null) break;
        try {
          proc.kill(signal);
        } catch {}
        if (signal === "SIGTERM") await grace();
      }
    }
    this.#reader.clear();
  }
}
