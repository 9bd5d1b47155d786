/**
 * The deny-everything host: what a component gets until the policy-checked WASI host
 * (src/hosted/wasi/) is in force. No filesystem, no network, no stdio, an empty environment,
 * no arguments; wall-clock time and randomness are granted (they reach nothing). `exit` ends
 * the call with an error instead of the process. A component importing anything else is refused
 * at load (PROVIDED_IMPORTS), naming the import.
 */
import { randomBytes, randomInt } from "node:crypto";
import { WardenError } from "../core/errors.js";
import { ComponentExit, type CreateHostImports, type ProvidedImports } from "./host-seam.js";
import { MAX_MEMORY_BYTES } from "./limits.js";

const U64 = (1n << 64n) - 1n;

function randomU64(): bigint {
  return randomBytes(8).readBigUInt64LE() & U64;
}

const environment = {
  getEnvironment: (): [string, string][] => [],
  getArguments: (): string[] => [],
  initialCwd: (): string | undefined => undefined,
};
const exit = {
  exit(status: { tag: string }): never {
    throw new ComponentExit(status.tag === "ok");
  },
};
const wallClock = {
  now() {
    const ms = Date.now();
    return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1_000_000 };
  },
  resolution: () => ({ seconds: 0n, nanoseconds: 1_000_000 }),
};
/** At most what a component's memory can hold (wasi/basics.ts, boundedRandom: the same bound). */
function bytes(len: bigint): Uint8Array {
  if (BigInt(len) > BigInt(MAX_MEMORY_BYTES))
    throw new WardenError(
      "hosted_wasi_trap",
      `A component asked wasi:random for ${len} bytes, more than a component's memory can hold (${MAX_MEMORY_BYTES}); ask for what the component will use.`,
      { category: "plugin" },
    );
  return new Uint8Array(randomBytes(Number(len)));
}
const random = {
  getRandomBytes: bytes,
  getRandomU64: randomU64,
};
const insecure = {
  getInsecureRandomBytes: bytes,
  getInsecureRandomU64: randomU64,
};
const insecureSeed = {
  insecureSeed: (): [bigint, bigint] => [randomU64(), BigInt(randomInt(2 ** 48 - 1))],
};

const TABLE: Record<string, unknown> = {
  "wasi:cli/environment": environment,
  "wasi:cli/exit": exit,
  "wasi:clocks/wall-clock": wallClock,
  "wasi:random/random": random,
  "wasi:random/insecure": insecure,
  "wasi:random/insecure-seed": insecureSeed,
};

export const PROVIDED_IMPORTS: ProvidedImports = Object.freeze(Object.keys(TABLE));

export const createHostImports: CreateHostImports = (options) => {
  const imports: Record<string, unknown> = {};
  for (const name of options.imports) {
    const at = name.indexOf("@");
    const base = at < 0 ? name : name.slice(0, at);
    const impl = TABLE[base];
    if (impl === undefined) continue; // refused at load already (PROVIDED_IMPORTS)
    imports[base] = impl;
    imports[name] = impl;
  }
  return { imports };
};
