/**
 * A real redis-server for tests: started on a free loopback port in a temp dir, without
 * persistence (`--save "" --appendonly no`) or a unix socket, never the system one. It can be
 * stopped and started again on the same port (Redis down, then back), and `close()` removes it
 * and its directory. Readiness is read from its own "Ready to accept connections" line.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REDIS_SERVER = process.env.WARDEN_REDIS_SERVER ?? "redis-server";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  readonly dir: string;
  readonly port: number;
  /** More redis-server arguments (e.g. --requirepass), on every start. */
  readonly extra: readonly string[];
  #proc: ChildProcess | undefined;
  #log = "";

  private constructor(dir: string, port: number, extra: readonly string[]) {
    this.dir = dir;
    this.port = port;
    this.extra = extra;
  }

  static async start(extra: readonly string[] = []): Promise<RedisServer> {
    const dir = mkdtempSync(join(tmpdir(), "warden-redis-"));
    const s = new RedisServer(dir, await freePort(), extra);
    await s.start();
    return s;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#proc !== undefined;
  }

  /** Start (again) on the same port; resolves when it accepts connections. */
  async start(): Promise<void> {
    if (this.#proc !== undefined) return;
    const args = [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
      "--save",
      "",
      "--appendonly",
      "no",
      "--daemonize",
      "no",
      "--loglevel",
      "notice",
      ...this.extra,
    ];
    const p = spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.#proc = p;
    this.#log = "";
    await new Promise<void>((resolve, reject) => {
      const onData = (b: Buffer) => {
        this.#log += b.toString();
        if (this.#log.includes("Ready to accept connections")) {
          p.stdout?.off("data", onData);
          resolve();
        }
      };
      p.stdout?.on("data", onData);
      p.stderr?.on("data", (b: Buffer) => {
        this.#log += b.toString();
      });
      p.once("error", (e) => {
        this.#proc = undefined;
        reject(new Error(`${REDIS_SERVER} did not start (${e.message}): install redis-server`));
      });
      p.once("exit", (code) => {
        this.#proc = undefined;
        reject(new Error(`${REDIS_SERVER} exited with ${code}:\n${this.#log}`));
      });
    });
    p.stdout?.resume();
  }

  /** Stop it (SIGTERM) and wait for it to exit: clients see Redis down. */
  async stop(): Promise<void> {
    const p = this.#proc;
    if (p === undefined) return;
    this.#proc = undefined;
    if (p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once("exit", () => resolve());
      p.kill("SIGTERM");
    });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
