/**
 * Finding strace and the flags this version and this machine accept. `warden run` asks once per
 * run (a few milliseconds: strace runs `true` under the same flags). The flags, in order of
 * preference:
 * `-f` (children), `-D` (strace as a detached grandchild: the program keeps its own pid, parent,
 * signals and exit status), `--seccomp-bpf` (the kernel stops the program only at the traced
 * syscalls: much cheaper; dropped if refused), `-q -e signal=none` (no attach notes, no
 * signal lines), `-xx` (every string byte as `\xNN`: hostile names are unambiguous), `-y` (fds
 * followed by their path: relative opens resolve exactly), `-s 4096`, `-ttt`.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export const SYSCALLS = [
  "execve",
  "execveat",
  "connect",
  "open",
  "openat",
  "openat2",
  "creat",
  "clone",
  "clone3",
  "fork",
  "vfork",
] as const;
/** For a strace that does not know the newer syscalls' names. */
const OLD_SYSCALLS = SYSCALLS.filter((s) => s !== "openat2" && s !== "clone3");

export interface StraceSetup {
  readonly bin: string;
  /** Flags before `-o FILE -- command`. */
  readonly flags: readonly string[];
  readonly seccomp: boolean;
  readonly version: string;
}

export type Probe = { ok: true; setup: StraceSetup } | { ok: false; reason: string };

function flags(seccomp: boolean, syscalls: readonly string[]): string[] {
  return [
    "-f",
    "-D",
    ...(seccomp ? ["--seccomp-bpf"] : []),
    "-q",
    "-e",
    "signal=none",
    "-xx",
    "-y",
    "-s",
    "4096",
    "-ttt",
    "-e",
    `trace=${syscalls.join(",")}`,
  ];
}

/** The first executable `name` in PATH. */
export function which(name: string, path = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {}
  }
  return undefined;
}

/** strace, with the best flags that work here, or why it cannot be used. */
export function probeStrace(bin = which("strace")): Probe {
  if (bin === undefined) return { ok: false, reason: "strace is not installed (not in PATH)" };
  const v = spawnSync(bin, ["-V"], { encoding: "utf8", timeout: 10_000 });
  if (v.error !== undefined || v.status !== 0)
    return { ok: false, reason: `${bin} -V failed: ${v.error?.message ?? v.stderr.trim()}` };
  const version = /version (\S+)/.exec(v.stdout)?.[1] ?? "unknown";
  const truth = which("true") ?? process.execPath;
  const targs = truth === process.execPath ? ["-e", ""] : [];
  let why = "";
  for (const [seccomp, sys] of [
    [true, SYSCALLS],
    [false, SYSCALLS],
    [true, OLD_SYSCALLS],
    [false, OLD_SYSCALLS],
  ] as const) {
    const f = flags(seccomp, sys);
    const r = spawnSync(bin, [...f, "-o", "/dev/null", "--", truth, ...targs], {
      encoding: "utf8",
      timeout: 10_000,
    });
    if (r.error === undefined && r.status === 0)
      return { ok: true, setup: { bin, flags: f, seccomp, version } };
    why = (r.error?.message ?? r.stderr.trim().split("\n")[0]) || `exit ${r.status}`;
  }
  return { ok: false, reason: `strace ${version} cannot trace here: ${why}` };
}
