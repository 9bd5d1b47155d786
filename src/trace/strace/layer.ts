/**
 * The strace layer of one `warden run` (docs/trace.md, "The strace layer"): the program runs
 * under `strace -f -D --seccomp-bpf ...` writing to a named pipe in a private temporary
 * directory (mode 0700; strace opens it close-on-exec, so the traced program does not hold it),
 * which Warden reads line by line while the program runs; each record goes to the correlator.
 * Once both ends are open the pipe's name and its directory are removed (a `warden run` killed
 * with SIGKILL leaves nothing in the temporary directory); a spare read end is kept for the
 * detached reader that may take over at the end.
 * strace sees, it does not block: what it reports has already happened.
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, constants, createReadStream, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { StraceParser, type StraceRecord } from "./parse.js";
import type { StraceSetup } from "./probe.js";

export class StraceLayer {
  readonly setup: StraceSetup;
  readonly parser = new StraceParser();
  readonly #dir: string;
  readonly #fifo: string;
  #ended: Promise<void> | undefined;
  #stream: ReturnType<typeof createReadStream> | undefined;
  #eof = false;
  #opened = false;
  /** A read end of the pipe kept for the detached reader (the name is gone by then). */
  #spare: number | undefined;

  private constructor(setup: StraceSetup, dir: string) {
    this.setup = setup;
    this.#dir = dir;
    this.#fifo = join(dir, "strace.pipe");
  }

  /** A layer with its pipe made, or why not (mkfifo failed). */
  static create(setup: StraceSetup): StraceLayer | string {
    const dir = mkdtempSync(join(tmpdir(), "warden-strace-"));
    const layer = new StraceLayer(setup, dir);
    const r = spawnSync("mkfifo", ["-m", "600", layer.#fifo], { encoding: "utf8" });
    if (r.error !== undefined || r.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      return `cannot make a pipe for strace (mkfifo: ${r.error?.message ?? r.stderr.trim()})`;
    }
    return layer;
  }

  /** The command to spawn instead of the program: strace, its flags, the pipe, the program. */
  command(program: readonly string[]): string[] {
    return [this.setup.bin, ...this.setup.flags, "-o", this.#fifo, "--", ...program];
  }

  /** Start reading (call before spawning: the open waits for strace to open the pipe). */
  read(each: (r: StraceRecord) => void): void {
    const stream = createReadStream(this.#fifo, { encoding: "latin1", highWaterMark: 1 << 16 });
    this.#stream = stream;
    stream.once("open", () => {
      this.#opened = true;
      try {
        this.#spare = openSync(this.#fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      } catch {}
      rmSync(this.#dir, { recursive: true, force: true });
    });
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on("line", (l) => {
      const r = this.parser.line(l);
      if (r !== undefined) each(r);
    });
    this.#ended = new Promise<void>((resolve) => {
      const done = () => {
        this.#eof = true;
        resolve();
      };
      lines.once("close", done);
      stream.once("error", done);
    });
  }

  /** Did strace close its output (every task it followed has ended)? */
  get ended(): boolean {
    return this.#eof;
  }

  /**
   * strace still follows processes that outlive the run: its pipe goes to a detached reader
   * that discards it until strace ends with them. Without one, strace would write an error to
   * the user's terminal for every syscall (its writes fail with EPIPE), and if strace died its
   * tracees' traced syscalls would fail with ENOSYS (the seccomp filter stays in the kernel with
   * no tracer to answer it). The reader is a Node process without the agent (no NODE_OPTIONS)
   * whose stdin is the pipe: it ends at the pipe's end, when strace ends.
   */
  #handOff(): boolean {
    const fd = this.#spare;
    if (fd === undefined) return false;
    try {
      const sink = spawn(process.execPath, ["-e", "process.stdin.resume()"], {
        stdio: [fd, "ignore", "ignore"],
        detached: true,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      });
      sink.on("error", () => {});
      sink.unref();
      return sink.pid !== undefined;
    } catch {
      return false;
    }
  }

  /** The pipe went to a detached reader: strace goes on following processes after the run. */
  handedOff = false;

  /**
   * Wait for strace to end (at most `ms`), then stop reading and remove the pipe (handing it to
   * a detached reader while strace still follows processes). A strace that never opened the
   * pipe (it failed to start) is unblocked by opening it for writing here.
   */
  async finish(ms: number): Promise<boolean> {
    if (this.#ended === undefined) return false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#ended,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
    clearTimeout(timer);
    const complete = this.#eof;
    if (!complete) {
      if (this.#opened) this.handedOff = this.#handOff();
      else
        try {
          closeSync(openSync(this.#fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        } catch {}
      this.#stream?.destroy();
      await Promise.race([this.#ended, new Promise((r) => setTimeout(r, 200))]);
    }
    if (this.#spare !== undefined) closeSync(this.#spare);
    this.#spare = undefined;
    rmSync(this.#dir, { recursive: true, force: true });
    return complete;
  }
}
