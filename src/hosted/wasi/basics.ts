/**
 * wasi:cli (environment, exit, stdin, stdout, stderr, terminal-*), wasi:clocks, wasi:random and
 * wasi:io, reviewed one function at a time:
 * - environment: only the keys every policy allows (`env.read`) exist; the others are hidden,
 *   and the call's event names them (`hidden`), as the gateway's audit names what a list hid.
 *   No arguments but the component's name; no initial working directory.
 * - exit: throws the seam's `ComponentExit`: the call ends (`hosted_exit`), never the worker
 *   or the process.
 * - stdin: none (the host's stdin is the MCP transport of `warden serve`): `get-stdin` gives a
 *   stream whose every read, skip or subscribe is a trap (wasi-libc's preview 1 adapter asks
 *   for the three standard streams when a C component starts; only reading is refused).
 * - stdout and stderr: both write to Warden's stderr, so a component never writes into the MCP
 *   stream on stdout. No terminal.
 * - clocks and random: allowed (no capability), counted as crossings.
 * - io (error, poll, streams): the shim's classes as they are: a stream is a capability the
 *   component got from a call that was judged (open, connect, request).
 */
import {
  stderr as shimStderr,
  terminalInput,
  terminalOutput,
} from "@bytecodealliance/preview2-shim/cli";
import { monotonicClock, wallClock } from "@bytecodealliance/preview2-shim/clocks";
import {
  error as ioError,
  poll as ioPoll,
  streams as ioStreams,
} from "@bytecodealliance/preview2-shim/io";
import { insecure, insecureSeed, random } from "@bytecodealliance/preview2-shim/random";
import { WardenError } from "../../core/errors.js";
import { ComponentExit } from "../host-seam.js";
import { MAX_MEMORY_BYTES } from "../limits.js";
import type { Crossings } from "./crossing.js";
import { pollFlushed } from "./waits.js";

type Fns = Record<string, (...args: never[]) => unknown>;

/** Each function of `fns` as a crossing without a policy question (counted, firewall-able). */
function counted(
  crossings: Crossings,
  iface: string,
  fns: Fns,
  names: Record<string, string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [js, wit] of Object.entries(names)) {
    const f = fns[js] as ((...args: unknown[]) => unknown) | undefined;
    if (f === undefined) continue;
    out[js] = (...args: unknown[]) =>
      crossings.run(iface, wit, undefined, undefined, () => f.apply(fns, args));
  }
  return out;
}

/** The most bytes one `skip` on an input stream asks for (a shorter skip is what WASI allows). */
const MAX_SKIP_BYTES = 64 * 1024;

/**
 * The shim's streams make a buffer of the length a component asks for in `skip` and
 * `write-zeroes` (2^31 - 1 made the shim's I/O call fail and end the thread): a skip asks for at
 * most MAX_SKIP_BYTES, a write of zeroes past what a component's memory holds is a trap.
 * Patched once on the shim's classes (this thread's copy: the worker's).
 */
let streamsBounded = false;
function boundStreams(): void {
  if (streamsBounded) return;
  streamsBounded = true;
  type Method = (this: unknown, len: bigint) => unknown;
  const wrap = (proto: Record<string, Method>, name: string, bound: (len: bigint) => bigint) => {
    const f = proto[name];
    if (typeof f === "function")
      proto[name] = function (this: unknown, len: bigint) {
        return f.call(this, bound(BigInt(len)));
      };
  };
  const cls = ioStreams as unknown as Record<string, { prototype: Record<string, Method> }>;
  const skip = (len: bigint) => (len > BigInt(MAX_SKIP_BYTES) ? BigInt(MAX_SKIP_BYTES) : len);
  const zeroes = (len: bigint) => {
    if (len > BigInt(MAX_MEMORY_BYTES))
      throw new WardenError(
        "hosted_wasi_trap",
        `A component asked to write ${len} zero bytes at once, more than a component's memory can hold (${MAX_MEMORY_BYTES}); write them in parts of at most check-write's permit.`,
        { category: "plugin" },
      );
    return len;
  };
  for (const m of ["skip", "blockingSkip"]) wrap(cls.InputStream!.prototype, m, skip);
  for (const m of ["writeZeroes", "blockingWriteZeroesAndFlush"])
    wrap(cls.OutputStream!.prototype, m, zeroes);
}

/**
 * `get-random-bytes` (and the insecure one) for at most as many bytes as a component's memory
 * can hold: the shim makes the whole buffer before the glue copies it into the component, so a
 * component with one page asking for 2^31 - 1 bytes had the worker make 2 GiB (seconds of CPU,
 * GiBs of RSS per call, one such call per worker at once). Past it: a trap.
 */
function boundedRandom(
  f: (len: bigint) => Uint8Array,
  trap: (what: string) => never,
): (len: bigint) => Uint8Array {
  return (len) =>
    BigInt(len) > BigInt(MAX_MEMORY_BYTES)
      ? trap(
          `asked wasi:random for ${len} bytes, more than a component's memory can hold (${MAX_MEMORY_BYTES}); ask for what the component will use`,
        )
      : f(len);
}

/**
 * The stream `get-stdin` gives: an InputStream for jco's glue (same class) whose every use is a
 * trap naming the component, and whose drop does nothing (there is no stream behind it).
 */
function noStdin(trap: (what: string) => never): unknown {
  const refuse = () =>
    trap(
      "read stdin, which hosted components do not get (Warden's stdin carries MCP); take input as tool arguments",
    );
  const methods = ["read", "blockingRead", "skip", "blockingSkip", "subscribe"];
  return Object.create(
    (ioStreams as unknown as { InputStream: { prototype: object } }).InputStream.prototype,
    Object.fromEntries([
      ...methods.map((m) => [m, { value: refuse }]),
      [Symbol.dispose, { value: () => {} }],
    ]),
  );
}

export interface CliOptions {
  /** The environment the component may see a part of (default: none). */
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /** `get-arguments` (default: the component's name alone). */
  readonly arguments?: readonly string[];
}

export function basicImports(
  crossings: Crossings,
  visibleEnv: () => readonly (readonly [string, string])[],
  opts: CliOptions,
): Record<string, Record<string, unknown>> {
  boundStreams();
  const args = [...(opts.arguments ?? [crossings.component])];
  const stderrStream = () => shimStderr.getStderr();
  const trap = (what: string): never => {
    throw new WardenError("hosted_wasi_trap", `Component "${crossings.component}" ${what}.`, {
      category: "plugin",
      details: { component: crossings.component },
    });
  };
  const ENV = "wasi:cli/environment";
  const EXIT = "wasi:cli/exit";
  return {
    [ENV]: {
      getEnvironment: () =>
        crossings.run(ENV, "get-environment", undefined, undefined, () =>
          visibleEnv().map(([k, v]) => [k, v]),
        ),
      getArguments: () =>
        crossings.run(ENV, "get-arguments", undefined, undefined, () => [...args]),
      initialCwd: () => crossings.run(ENV, "initial-cwd", undefined, undefined, () => undefined),
    },
    [EXIT]: {
      // The seam's ComponentExit: the worker ends the call (`hosted_exit`) and drops the instance.
      exit: (status: { tag: string }) =>
        crossings.run(EXIT, "exit", undefined, undefined, () => {
          throw new ComponentExit(status?.tag === "ok");
        }),
      exitWithCode: (code: number) =>
        crossings.run(EXIT, "exit-with-code", undefined, undefined, () => {
          throw new ComponentExit(code === 0);
        }),
    },
    "wasi:cli/stdin": {
      getStdin: () =>
        crossings.run("wasi:cli/stdin", "get-stdin", undefined, undefined, () => noStdin(trap)),
    },
    "wasi:cli/stdout": {
      getStdout: () =>
        crossings.run("wasi:cli/stdout", "get-stdout", undefined, undefined, stderrStream),
    },
    "wasi:cli/stderr": {
      getStderr: () =>
        crossings.run("wasi:cli/stderr", "get-stderr", undefined, undefined, stderrStream),
    },
    "wasi:cli/terminal-input": { TerminalInput: terminalInput.TerminalInput },
    "wasi:cli/terminal-output": { TerminalOutput: terminalOutput.TerminalOutput },
    "wasi:cli/terminal-stdin": { getTerminalStdin: () => undefined },
    "wasi:cli/terminal-stdout": { getTerminalStdout: () => undefined },
    "wasi:cli/terminal-stderr": { getTerminalStderr: () => undefined },
    "wasi:clocks/monotonic-clock": counted(
      crossings,
      "wasi:clocks/monotonic-clock",
      monotonicClock as unknown as Fns,
      {
        now: "now",
        resolution: "resolution",
        subscribeInstant: "subscribe-instant",
        subscribeDuration: "subscribe-duration",
      },
    ),
    "wasi:clocks/wall-clock": counted(
      crossings,
      "wasi:clocks/wall-clock",
      wallClock as unknown as Fns,
      {
        now: "now",
        resolution: "resolution",
      },
    ),
    "wasi:random/random": counted(
      crossings,
      "wasi:random/random",
      { ...(random as unknown as Fns), getRandomBytes: boundedRandom(random.getRandomBytes, trap) },
      { getRandomBytes: "get-random-bytes", getRandomU64: "get-random-u64" },
    ),
    "wasi:random/insecure": counted(
      crossings,
      "wasi:random/insecure",
      {
        ...(insecure as unknown as Fns),
        getInsecureRandomBytes: boundedRandom(insecure.getInsecureRandomBytes, trap),
      },
      {
        getInsecureRandomBytes: "get-insecure-random-bytes",
        getInsecureRandomU64: "get-insecure-random-u64",
      },
    ),
    "wasi:random/insecure-seed": counted(
      crossings,
      "wasi:random/insecure-seed",
      insecureSeed as unknown as Fns,
      {
        insecureSeed: "insecure-seed",
      },
    ),
    "wasi:io/error": { Error: (ioError as { Error: unknown }).Error },
    "wasi:io/poll": {
      Pollable: (ioPoll as { Pollable: unknown }).Pollable,
      poll: pollFlushed,
    },
    "wasi:io/streams": {
      InputStream: (ioStreams as { InputStream: unknown }).InputStream,
      OutputStream: (ioStreams as { OutputStream: unknown }).OutputStream,
    },
  };
}
