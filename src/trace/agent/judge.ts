/**
 * The agent's judge: Warden's own compiled policy, asked synchronously before a hooked call
 * goes on. Paths are judged on what the kernel would open (`resolveRealPathSync`); the answer
 * for a path judged before is remembered, and forgotten whenever this thread changes a name
 * (symlink, rename, unlink, rm, link, cp) or a child it started ends, and not used while such a
 * child is running (a child could swap a symbolic link: docs/trace.md, "Limits"). The same holds
 * for what an exec is judged on: the program found in PATH and its real path (the rule is
 * matched each time, on the command line given).
 */
import { accessSync, constants, lstatSync, realpathSync } from "node:fs";
import { resolve } from "node:path";
import type { Verdict } from "../../core/decision.js";
import { resolveRealPathSync } from "../../policy/io.js";
import type { CompiledPolicy } from "../../policy/policy.js";
import type { ModeSection } from "../../policy/process/modes.js";
import type { PolicyDecision } from "../../policy/types.js";
import { actionFor, type Op, SECTION_OF, unjudgedVerdict, verdictOf } from "../actions.js";
import { judgeTraceNet } from "../policy/actions.js";

export interface Judged {
  readonly verdict: Verdict;
  /** The policy's decision, when a section judged the operation. */
  readonly decision: PolicyDecision | undefined;
}

const CACHE_MAX = 16_384;
const NOT_JUDGED: Judged = Object.freeze({ verdict: "allow", decision: undefined });

export class Judge {
  readonly #policy: CompiledPolicy;
  readonly #sections: ReadonlySet<string>;
  readonly #reads = new Map<string, Judged>();
  readonly #writes = new Map<string, Judged>();
  /** Programs to exec: the executable's path as given → its real path (or why not). */
  readonly #reals = new Map<string, string | { readonly refused: string }>();
  /** Existing directories judged through: their path → their real path (a file's parent). */
  readonly #dirs = new Map<string, string>();
  /** `PATH\0name` → the executable found, as execvp would. */
  readonly #found = new Map<string, string>();
  readonly #execOpts = Object.freeze({
    realPath: (p: string, raw: string) => this.#realOf(p, raw),
  });
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
    const abs = path.charCodeAt(0) === 47 ? path : resolve(path);
    const cache = write ? this.#writes : this.#reads;
    if (this.children === 0) {
      const known = cache.get(abs);
      if (known !== undefined) return known;
    }
    const j = this.op({ kind: write ? "write" : "read", target: abs });
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(abs, j);
    return j;
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
          ? this.#execOpts
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
    let real = this.#children === 0 ? this.#dirs.get(dir) : undefined;
    if (real === undefined) {
      try {
        real = realpathSync.native(dir);
      } catch {
        return resolveRealPathSync(p, raw);
      }
      if (this.#dirs.size >= CACHE_MAX) this.#dirs.clear();
      this.#dirs.set(dir, real);
    }
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(p, { throwIfNoEntry: false });
    } catch {
      return resolveRealPathSync(p, raw);
    }
    // A name that does not exist yet is created in the directory; a link is followed the whole way.
    if (st?.isSymbolicLink() === true) return resolveRealPathSync(p, raw);
    if (st !== undefined && !st.isFile() && !st.isDirectory()) return resolveRealPathSync(p, raw);
    return real === "/" ? p.slice(slash) : real + p.slice(slash);
  }

  /** An executable's real path, remembered as paths judged before are. */
  #realOf(p: string, raw: string): string | { readonly refused: string } {
    if (this.#children === 0) {
      const known = this.#reals.get(raw);
      if (known !== undefined) return known;
    }
    const r = resolveRealPathSync(p, raw);
    if (this.#reals.size >= CACHE_MAX) this.#reals.clear();
    this.#reals.set(raw, r);
    return r;
  }

  /** The absolute path of a program to exec, searched in PATH as execvp does (as given if not found). */
  which(file: string, pathEnv: string | undefined): string {
    if (file.includes("/")) return file.charCodeAt(0) === 47 ? file : resolve(file);
    const path = pathEnv ?? "/usr/local/bin:/usr/bin:/bin";
    const dirs = path.split(":");
    // A relative entry depends on the working directory: not remembered.
    const keep = dirs.every((d) => d.charCodeAt(0) === 47);
    const key = `${path}\0${file}`;
    if (keep && this.#children === 0) {
      const known = this.#found.get(key);
      if (known !== undefined) return known;
    }
    let found = file;
    this.busy = true;
    try {
      for (const dir of dirs) {
        const p = resolve(dir === "" ? "." : dir, file);
        try {
          accessSync(p, constants.X_OK);
          found = p;
          break;
        } catch {}
      }
    } finally {
      this.busy = false;
    }
    if (keep) {
      if (this.#found.size >= CACHE_MAX) this.#found.clear();
      this.#found.set(key, found);
    }
    return found;
  }

  /** This thread changed a name, or a child ended: paths judged before may now lead elsewhere. */
  forget(): void {
    this.#reads.clear();
    this.#writes.clear();
    this.#reals.clear();
    this.#found.clear();
    this.#dirs.clear();
  }
}
