/**
 * The agent's judge: Warden's own compiled policy, asked synchronously before a hooked call
 * goes on. Paths are judged on what the kernel would open (`resolveRealPathSync`). The answer
 * for a path judged before is remembered with the identity of what the path led to then (the
 * file's device, inode and birth time, or, for a name not there yet, its directory's device,
 * inode and change time) and used again only while one `stat` of the path finds that same
 * identity: a symbolic link swapped anywhere on the path, by this thread, another thread, a
 * child, a sibling or any other process, makes the path lead elsewhere and it is judged again.
 * (For `statSync` and `lstatSync` that `stat` is the program's own call, `rememberedRead`.)
 * The answers are also forgotten whenever this thread changes a name (symlink, rename, unlink,
 * rm, link, cp) or a child it started ends, and not used while such a child is running.
 * Programs to exec are looked up in PATH and resolved every time (an exec costs milliseconds;
 * a remembered lookup would follow a name planted earlier in PATH by another process).
 * What no in-process check can close: a concurrent process swapping a link between the check
 * and the call itself (docs/trace.md, "Limits").
 */
import * as fs from "node:fs";
import { dirname, resolve } from "node:path";
import type { Verdict } from "../../core/decision.js";
import { resolveRealPathSync } from "../../policy/io.js";
import type { CompiledPolicy } from "../../policy/policy.js";
import type { ModeSection } from "../../policy/process/modes.js";
import type { PolicyDecision } from "../../policy/types.js";
import { actionFor, type Op, SECTION_OF, unjudgedVerdict, verdictOf } from "../actions.js";
import { judgeTraceNet } from "../policy/actions.js";

// The unhooked functions, taken before the agent wraps `fs`: the judge's own look at the file
// system is not the program's, and is neither judged nor reported.
const { accessSync, constants, lstatSync, realpathSync, statSync } = fs;
const NO_THROW = Object.freeze({ throwIfNoEntry: false });
/** The working directory as Node keeps it: a `process.cwd` the program puts in its place is not asked. */
const cwd = process.cwd;
/** A program to exec: its real path, resolved at each exec. */
const EXEC_OPTS = Object.freeze({ realPath: resolveRealPathSync });

export interface Judged {
  readonly verdict: Verdict;
  /** The policy's decision, when a section judged the operation. */
  readonly decision: PolicyDecision | undefined;
}

const CACHE_MAX = 16_384;
const NOT_JUDGED: Judged = Object.freeze({ verdict: "allow", decision: undefined });

/**
 * What a path led to when it was judged: the file (links followed) by device, inode and birth
 * time (change time where the file system keeps no birth time; an inode number freed and given
 * to a new file elsewhere has another birth), or, for a name that was not there, its directory
 * by device, inode and change time (a name added, removed or replaced in it changes that).
 */
export interface Remembered {
  readonly judged: Judged;
  readonly dev: number;
  readonly ino: number;
  readonly time: number;
  readonly absent: boolean;
}

/**
 * One `stat` (links followed) of `p` into `sDev`, `sIno`, `sTime` (birth time, else change
 * time) and `sCtime`: false when nothing is there (ENOENT, ENOTDIR); other errors thrown. Made
 * through Node's own fs binding (the call `fs.statSync` makes) where it gives what `statSync`
 * gives (checked at load): a `Stats` object and its four `Date`s cost more than the system call.
 */
let sDev = 0;
let sIno = 0;
let sTime = 0;
let sCtime = 0;

type RawStat = (
  p: string,
  bigint: false,
  req: undefined,
  throwIfNoEntry: false,
) => Float64Array | undefined;
const rawStat = rawStatOf("stat");
const rawLstat = rawStatOf("lstat");
/** The type of what the last `lstatId` found: `S_IFREG`, `S_IFDIR`, `S_IFLNK`, ... */
let sType = 0;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function statId(p: string): boolean {
  if (rawStat !== undefined && !p.includes("\0")) {
    const v = rawStat(p, false, undefined, false);
    if (v === undefined) return false;
    sDev = v[0]!;
    sIno = v[7]!;
    sCtime = v[14]! * 1e3 + v[15]! / 1e6;
    sTime = v[16]! * 1e3 + v[17]! / 1e6 || sCtime;
    return true;
  }
  const st = statSync(p, NO_THROW);
  if (st === undefined) return false;
  sDev = st.dev;
  sIno = st.ino;
  sCtime = st.ctimeMs;
  sTime = st.birthtimeMs || st.ctimeMs;
  return true;
}

/**
 * One `lstat` (links not followed) of `p` into `sDev`, `sIno`, `sTime`, `sCtime` and `sType`:
 * false when nothing is there (not even a dangling link); other errors thrown. For anything but
 * a symbolic link it is the identity `statId` would give.
 */
function lstatId(p: string): boolean {
  if (rawLstat !== undefined && !p.includes("\0")) {
    const v = rawLstat(p, false, undefined, false);
    if (v === undefined) return false;
    sDev = v[0]!;
    sType = v[1]! & S_IFMT;
    sIno = v[7]!;
    sCtime = v[14]! * 1e3 + v[15]! / 1e6;
    sTime = v[16]! * 1e3 + v[17]! / 1e6 || sCtime;
    return true;
  }
  const st = lstatSync(p, NO_THROW);
  if (st === undefined) return false;
  sDev = st.dev;
  sType = st.mode & S_IFMT;
  sIno = st.ino;
  sCtime = st.ctimeMs;
  sTime = st.birthtimeMs || st.ctimeMs;
  return true;
}

/** `stat` (or `lstat`) of Node's fs binding, if it answers as `fs.statSync` does here; else undefined. */
function rawStatOf(kind: "stat" | "lstat"): RawStat | undefined {
  try {
    // Not with --pending-deprecation: process.binding would print a warning in the program.
    if (process.execArgv.includes("--pending-deprecation")) return undefined;
    if ((process.env.NODE_OPTIONS ?? "").includes("--pending-deprecation")) return undefined;
    if (process.env.NODE_PENDING_DEPRECATION === "1") return undefined;
    const binding = (
      process as unknown as { binding(n: string): { stat?: unknown; lstat?: unknown } }
    ).binding("fs");
    const f = binding[kind];
    if (typeof f !== "function") return undefined;
    const raw = (f as RawStat).bind(binding);
    for (const p of [process.execPath, "/"]) {
      const st = kind === "stat" ? statSync(p) : lstatSync(p);
      const v = raw(p, false, undefined, false);
      if (
        !(v instanceof Float64Array) ||
        v[0] !== st.dev ||
        v[7] !== st.ino ||
        v[14]! * 1e3 + v[15]! / 1e6 !== st.ctimeMs ||
        v[16]! * 1e3 + v[17]! / 1e6 !== st.birthtimeMs ||
        v[1] !== st.mode
      )
        return undefined;
    }
    if (raw(`${process.execPath}\u0001-none`, false, undefined, false) !== undefined)
      return undefined;
    return raw;
  } catch {
    return undefined;
  }
}

/**
 * What the last `identityOf` saw of its path (`seenPath`), for the realpath of the same
 * judgement (`Judge.#realFile`): nothing there (`seenAbsent`, with its directory's identity in
 * `seenDir*`), or its type when it is not a symbolic link (`seenType`). Cleared when the
 * judgement ends: never used for another one.
 */
let seenPath: string | undefined;
let seenAbsent = false;
let seenType = 0;
let seenDirDev = 0;
let seenDirIno = 0;
let seenDirTime = 0;

/**
 * The identity of what `abs` leads to now; undefined when it is not to be remembered. One
 * `lstat` for a name that is not a symbolic link (its identity is the file's), a `stat` more
 * for a link; a name not there: its directory's `stat`.
 */
function identityOf(abs: string, judged: Judged): Remembered | undefined {
  seenPath = undefined;
  try {
    if (lstatId(abs)) {
      if (sType !== S_IFLNK) {
        seenPath = abs;
        seenAbsent = false;
        seenType = sType;
        return { judged, dev: sDev, ino: sIno, time: sTime, absent: false };
      }
      // A link: what it leads to. A dangling link could be pointed elsewhere without the file
      // it names being born: only a name that is not there at all is remembered, by its directory.
      if (statId(abs)) return { judged, dev: sDev, ino: sIno, time: sTime, absent: false };
      return undefined;
    }
    const dir = dirname(abs);
    if (!statId(dir)) return undefined;
    seenPath = abs;
    seenAbsent = true;
    seenDirDev = sDev;
    seenDirIno = sIno;
    seenDirTime = sTime;
    return { judged, dev: sDev, ino: sIno, time: sCtime, absent: true };
  } catch {
    // ENOTDIR, EACCES, ELOOP, ENAMETOOLONG: judged each time.
    return undefined;
  }
}

/** Does `abs` still lead to what it led to when `r` was remembered (one `stat`, two for a new name)? */
function stillLeads(abs: string, r: Remembered): boolean {
  try {
    if (statId(abs)) return !r.absent && sIno === r.ino && sDev === r.dev && sTime === r.time;
    if (!r.absent) return false;
    return statId(dirname(abs)) && sIno === r.ino && sDev === r.dev && sCtime === r.time;
  } catch {
    return false;
  }
}

/** A `..` segment: the kernel follows it from where a link led, not from the text before it. */
function hasDotDot(path: string): boolean {
  return path.includes("..") && /(^|\/)\.\.(\/|$)/.test(path);
}

export class Judge {
  readonly #policy: CompiledPolicy;
  readonly #sections: ReadonlySet<string>;
  readonly #reads = new Map<string, Remembered>();
  readonly #writes = new Map<string, Remembered>();
  /** Existing directories judged through: their path → their real path, with their identity. */
  readonly #dirs = new Map<string, { readonly real: string; readonly id: Remembered }>();
  readonly #fileOpts = Object.freeze({
    realPath: (p: string, raw: string) => this.#realFile(p, raw),
  });
  #children = 0;
  /** Inside a check: hooked calls the policy layer makes itself pass through unjudged. */
  busy = false;

  constructor(policy: CompiledPolicy, sections: readonly string[]) {
    this.#policy = policy;
    this.#sections = new Set(sections);
  }

  /** Children started by this thread that are still running: the caches are not used meanwhile. */
  get children(): number {
    return this.#children;
  }

  /** One ended: what it may have changed (a symbolic link swapped) is judged again. */
  set children(n: number) {
    if (n < this.#children) this.forget();
    this.#children = n;
  }

  judges(section: string): boolean {
    return this.#sections.has(section);
  }

  /** A file operation on `path` (absolute, or relative to the working directory). */
  path(write: boolean, path: string): Judged {
    if (!this.#sections.has("storage")) return NOT_JUDGED;
    // `..` is left for the policy's resolution to judge as the kernel reads it (never resolved
    // as text here: `link/../x` is the parent of where `link` leads), and never remembered.
    if (hasDotDot(path)) {
      const raw = path.charCodeAt(0) === 47 ? path : `${cwd()}/${path}`;
      return this.op({ kind: write ? "write" : "read", target: raw });
    }
    const abs = path.charCodeAt(0) === 47 ? path : resolve(cwd(), path);
    const cache = write ? this.#writes : this.#reads;
    if (this.#children === 0) {
      const known = cache.get(abs);
      if (known !== undefined) {
        if (stillLeads(abs, known)) return known.judged;
        cache.delete(abs);
      }
    }
    // The identity first, then the judgement: a swap in between is judged again at next sight,
    // never remembered as allowed for where it leads after.
    const before = identityOf(abs, NOT_JUDGED);
    let j: Judged;
    try {
      j = this.op({ kind: write ? "write" : "read", target: abs });
    } finally {
      seenPath = undefined;
    }
    if (before !== undefined) {
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(abs, { ...before, judged: j });
    }
    return j;
  }

  /**
   * What is remembered for reading `path` (undefined when nothing is, or it is not to be used
   * now), for a hook that checks the identity itself with what the program's own call found
   * (`statSync`: no second `stat`). The answer is `judged` only when that call found the very
   * file the path led to (`!absent`, same `dev`, `ino` and `time`: birth time, else change time).
   */
  rememberedRead(path: string): Remembered | undefined {
    if (this.#children !== 0 || hasDotDot(path)) return undefined;
    return this.#reads.get(path.charCodeAt(0) === 47 ? path : resolve(cwd(), path));
  }

  /** Any operation; paths through `path` (remembered), the rest judged each time. */
  op(op: Op): Judged {
    if (op.kind === "http" || op.kind === "connect") return this.#net(op);
    const section = SECTION_OF[op.kind];
    if (section === null) return { verdict: unjudgedVerdict(op), decision: undefined };
    // A program run with no commands section is still shown (display), as before it was judged.
    if (!this.#sections.has(section))
      return op.kind === "exec"
        ? { verdict: unjudgedVerdict(op), decision: undefined }
        : NOT_JUDGED;
    const action = actionFor(op);
    if (action === null) return NOT_JUDGED;
    this.busy = true;
    try {
      const d = this.#policy.check(
        action,
        op.kind === "exec"
          ? EXEC_OPTS
          : op.kind === "read" || op.kind === "write"
            ? this.#fileOpts
            : undefined,
      );
      return { verdict: verdictOf(op, d), decision: d };
    } finally {
      this.busy = false;
    }
  }

  /**
   * A request or connect: `network` (hosts), `http` (URL patterns) and `endpoints` (host:port,
   * protocols), each where the policy has it, the strictest answer winning (one policy: the
   * process sections' judge, src/trace/policy/actions.ts).
   */
  #net(op: Op): Judged {
    this.busy = true;
    try {
      const d = judgeTraceNet(
        this.#policy,
        op.kind === "http"
          ? {
              kind: "http",
              url: op.target,
              ...(op.method !== undefined ? { method: op.method } : {}),
            }
          : {
              kind: "connect",
              host: op.target,
              ...(op.port !== undefined ? { port: op.port } : {}),
            },
        this.#sections,
      );
      return d === undefined ? NOT_JUDGED : { verdict: verdictOf(op, d), decision: d };
    } finally {
      this.busy = false;
    }
  }

  /**
   * Does the `nodejs` (or `python`) section name this function: a rule's pattern matches it,
   * or the section's default is not to allow (an allowlist names everything)? Only then is it
   * hooked.
   */
  names(runtime: "nodejs" | "python", name: string): boolean {
    if (!this.#sections.has(runtime)) return false;
    const c = this.#policy.sections.get(runtime) as ModeSection | undefined;
    if (c === undefined) return false;
    if (!c.fallback.allowed || (c.fallback.verdict ?? "allow") !== "allow") return true;
    return c.rules.some((r) => r.pattern.test(name));
  }

  /**
   * A function of the runtime (`eval`, `vm.runInContext`) by the `nodejs` (or `python`)
   * section; undefined when no rule names it and the default lets it go (not reported).
   */
  fn(runtime: "nodejs" | "python", name: string, args?: readonly string[]): Judged | undefined {
    if (!this.#sections.has(runtime)) return undefined;
    this.busy = true;
    try {
      const d = this.#policy.check(
        args === undefined
          ? { kind: `${runtime}.call`, name }
          : { kind: `${runtime}.call`, name, args },
      );
      const own = (d as { verdict?: Verdict }).verdict;
      const verdict: Verdict = own ?? (d.allowed ? "allow" : "block");
      if ((d.code === "default_rule" || d.code === "no_rule") && verdict === "allow")
        return undefined;
      return { verdict, decision: d };
    } finally {
      this.busy = false;
    }
  }

  /**
   * The real path of a file to open, as `resolveRealPathSync` gives it, with its directory's
   * real path remembered as paths judged before are: a file first seen in a directory seen
   * before costs one `lstat` (is the name itself a symbolic link?) instead of a realpath(3)
   * walk over every component (and, for a file still to create, a failed one, then a walk up).
   * Anything unusual (`..`, the name is a link, an error) goes the whole way.
   */
  #realFile(p: string, raw: string): string | { readonly refused: string } {
    const slash = p.lastIndexOf("/");
    if (slash <= 0 || slash === p.length - 1 || raw.includes(".."))
      return resolveRealPathSync(p, raw);
    const dir = p.slice(0, slash);
    // What `identityOf` found of this very path in this judgement, a moment ago: not asked again.
    const seen = seenPath === p;
    const absent = seen && seenAbsent;
    const type = seenType;
    const known = this.#children === 0 ? this.#dirs.get(dir) : undefined;
    let real: string;
    if (
      known !== undefined &&
      !known.id.absent &&
      (absent
        ? seenDirIno === known.id.ino &&
          seenDirDev === known.id.dev &&
          seenDirTime === known.id.time
        : stillLeads(dir, known.id))
    )
      real = known.real;
    else {
      const id: Remembered | undefined = absent
        ? { judged: NOT_JUDGED, dev: seenDirDev, ino: seenDirIno, time: seenDirTime, absent: false }
        : identityOf(dir, NOT_JUDGED);
      try {
        real = realpathSync.native(dir);
      } catch {
        return resolveRealPathSync(p, raw);
      }
      if (id !== undefined && !id.absent) {
        if (this.#dirs.size >= CACHE_MAX) this.#dirs.clear();
        this.#dirs.set(dir, { real, id });
      }
    }
    // A name that does not exist yet is created in the directory; a link is followed the whole
    // way, and so is anything but a file or a directory.
    if (seen) {
      if (!absent && type !== S_IFREG && type !== S_IFDIR) return resolveRealPathSync(p, raw);
    } else {
      let st: fs.Stats | undefined;
      try {
        st = lstatSync(p, NO_THROW);
      } catch {
        return resolveRealPathSync(p, raw);
      }
      if (st?.isSymbolicLink() === true) return resolveRealPathSync(p, raw);
      if (st !== undefined && !st.isFile() && !st.isDirectory()) return resolveRealPathSync(p, raw);
    }
    return real === "/" ? p.slice(slash) : real + p.slice(slash);
  }

  /** The absolute path of a program to exec, searched in PATH as execvp does (as given if not found). */
  which(file: string, pathEnv: string | undefined): string {
    if (file.includes("/")) return file.charCodeAt(0) === 47 ? file : resolve(cwd(), file);
    const path = pathEnv ?? "/usr/local/bin:/usr/bin:/bin";
    const dirs = path.split(":");
    let found = file;
    this.busy = true;
    try {
      for (const dir of dirs) {
        const p = resolve(cwd(), dir, file);
        try {
          accessSync(p, constants.X_OK);
          found = p;
          break;
        } catch {}
      }
    } finally {
      this.busy = false;
    }
    return found;
  }

  /**
   * Before a call that removes or replaces the names `paths` (`unlink`, `rm`, `rename`): what
   * was remembered is forgotten unless each of them is, by one `lstat` now, a regular file or
   * nothing. Such a name is the end of a path, never a directory or link a remembered path
   * goes through: a path that led to it leads to nothing or to another file afterwards (another
   * inode and birth time, which the identity check sees), and no other path leads elsewhere.
   * A package manager unlinks and renames thousands of files: forgetting everything at each
   * made nearly every call a first sight.
   */
  changing(paths: readonly string[]): void {
    for (let i = 0; i < paths.length; i++) {
      try {
        if (!lstatId(paths[i]!) || sType === S_IFREG) continue;
      } catch {
        // ENOTDIR, EACCES, ...: not known to be a file
      }
      this.forget();
      return;
    }
  }

  /** This thread changed a name, or a child ended: paths judged before may now lead elsewhere. */
  forget(): void {
    this.#reads.clear();
    this.#writes.clear();
    this.#dirs.clear();
  }
}
