/**
 * The `/configure` answer handed to traced Node processes without a round trip (docs/trace.md,
 * "The Node agent"): `warden run` writes it to a file (0600, in a fresh 0700 folder), keeps it
 * open and removes the file and the folder at once, before the program starts. Only the open
 * descriptor is left, so nothing stays on disk, not even when `warden run` is killed with
 * SIGKILL (the kernel closes it). `WARDEN_TRACE_CONFIG` names it: `<sha256>:<pid>:<fd>`, read
 * as `/proc/<pid>/fd/<fd>`.
 *
 * The environment and every file are the traced program's to change (same user), so the agent
 * takes the hand-over only from who started its process, as the kernel says (`/proc`):
 * - `warden run` itself (the program it started): the parent is the pid the value names, runs
 *   the same Node without the run's token, and the answer is read through its descriptor; or
 * - a traced Node process of this run (the agent restores the value for every child it starts):
 *   the parent runs the same Node, with the agent preloaded, the run's address, token and agent,
 *   and the same value, as it was started (`/proc/<ppid>/environ`).
 * Anything else (a shell or another program in between, a value the parent did not have, no
 * `/proc`): the agent asks `/configure` and waits, as without a hand-over, and `warden run`
 * tells it the run's value to give its children. A value whose bytes do not hash to what it
 * says is not used either. What is left (an untraced Node process that names itself as the
 * giver) is caught by `warden run` after the fact: each agent says which value it took, and a
 * process that took another is killed and reported (src/trace/session.ts).
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireFlag } from "./env.js";
import { type ConfigureAnswer, ENV_AGENT, ENV_CONFIG, ENV_TOKEN, ENV_URL } from "./protocol.js";

export interface Handoff {
  /** `ENV_CONFIG`'s value: `<sha256 hex>:<pid>:<fd>`. */
  readonly env: string;
  /** Where the file was before it was removed (the strace layer sees reads of it as Warden's). */
  readonly path: string;
  /** Close the descriptor (the run ended). */
  remove(): void;
}

/**
 * Write `answer` for the run's processes (the CLI, before it spawns the program), or undefined
 * where there is no `/proc` to read it through (the agents then ask `/configure`).
 */
export function writeHandoff(answer: ConfigureAnswer): Handoff | undefined {
  if (process.platform !== "linux") return undefined;
  const dir = mkdtempSync(join(tmpdir(), "warden-run-"));
  const path = join(dir, "configure.json");
  const bytes = Buffer.from(JSON.stringify(answer));
  let fd: number;
  try {
    fd = openSync(path, "wx+", 0o600);
    try {
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  } finally {
    rmFile(path);
    rmdirSync(dir);
  }
  const hash = createHash("sha256").update(bytes).digest("hex");
  let open = true;
  return {
    env: `${hash}:${process.pid}:${fd}`,
    path,
    remove: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

function rmFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not created
  }
}

const VALUE = /^([0-9a-f]{64}):([1-9]\d{0,9}):(\d{1,9})$/;

/** The environment a process was started with (`/proc/<pid>/environ`): the keys asked for. */
function startEnv(pid: number, keys: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const kv of readFileSync(`/proc/${pid}/environ`, "latin1").split("\0")) {
    const eq = kv.indexOf("=");
    if (eq > 0 && keys.includes(kv.slice(0, eq))) out.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return out;
}

/**
 * Why the process `ppid` may not hand over `value` to this one, or undefined when it may
 * (warden run itself, or a traced Node process of the run started with the same value).
 */
function giverRefused(
  value: string,
  giver: number,
  ppid: number,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  let parentExe: string;
  let ownExe: string;
  try {
    parentExe = readlinkSync(`/proc/${ppid}/exe`);
    ownExe = readlinkSync("/proc/self/exe");
  } catch (e) {
    return `cannot tell what started this process: ${(e as Error).message}`;
  }
  if (parentExe !== ownExe)
    return `started by ${parentExe}, not by warden run or a traced Node process`;
  const keys = [ENV_URL, ENV_TOKEN, ENV_AGENT, ENV_CONFIG, "NODE_OPTIONS"];
  let p: Map<string, string>;
  try {
    p = startEnv(ppid, keys);
  } catch (e) {
    return `cannot read the parent's environment: ${(e as Error).message}`;
  }
  // warden run: the giver, itself not traced (a traced process holding a file of its own is not).
  if (ppid === giver)
    return p.has(ENV_TOKEN) ? "the parent is a traced process, not warden run" : undefined;
  const agent = env[ENV_AGENT];
  if (
    agent === undefined ||
    p.get(ENV_CONFIG) !== value ||
    p.get(ENV_URL) !== env[ENV_URL] ||
    p.get(ENV_TOKEN) !== env[ENV_TOKEN] ||
    p.get(ENV_AGENT) !== agent ||
    p.get("NODE_OPTIONS")?.includes(requireFlag(agent)) !== true
  )
    return "the parent process was not started with this hand-over by warden run";
  return undefined;
}

/**
 * The answer named by `ENV_CONFIG`'s value, or why it cannot be used (no value, not given by
 * warden run or a traced Node process, unreadable, another hash, not the answer's shape): the
 * agent then asks `/configure`.
 */
export function readHandoff(
  value: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
  ppid: number = process.ppid,
): ConfigureAnswer | string {
  if (value === undefined || value === "") return "no handed-over configuration";
  const m = VALUE.exec(value);
  if (m === null) return "WARDEN_TRACE_CONFIG is not <sha256>:<pid>:<fd>";
  const giver = Number(m[2]);
  const refused = giverRefused(value, giver, ppid, env);
  if (refused !== undefined) return refused;
  const where = `/proc/${giver}/fd/${m[3]}`;
  let bytes: Buffer;
  try {
    bytes = readFileSync(where);
  } catch (e) {
    return `cannot read ${where}: ${(e as Error).message}`;
  }
  if (createHash("sha256").update(bytes).digest("hex") !== m[1])
    return `${where} is not what warden run handed over`;
  let a: unknown;
  try {
    a = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    return `${where} is not JSON: ${(e as Error).message}`;
  }
  const c = a as Partial<ConfigureAnswer> | null;
  if (
    c === null ||
    typeof c !== "object" ||
    typeof c.policy?.text !== "string" ||
    typeof c.policy.file !== "string" ||
    !Array.isArray(c.sections) ||
    typeof c.t0 !== "string" ||
    typeof c.batch_ms !== "number" ||
    typeof c.batch_events !== "number" ||
    typeof c.review_timeout_ms !== "number"
  )
    return `${where} is not a configure answer`;
  return c as ConfigureAnswer;
}
