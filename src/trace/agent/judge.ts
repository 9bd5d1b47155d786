/**
 * The agent's judge: Warden's own compiled policy, asked synchronously before a hooked call
 * goes on. Paths are judged on what the kernel would open (`resolveRealPathSync`); the answer
 * for a path judged before is remembered, and forgotten whenever this thread changes a name
 * (symlink, rename, unlink, rm, link, cp) and not used while a child it started is running (a
 * child could swap a symbolic link: docs/trace.md, "Limits").
 */
import { accessSync, constants } from "node:fs";
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
const CHECK_OPTS = Object.freeze({ realPath: resolveRealPathSync });

export class Judge {
  readonly #policy: CompiledPolicy;
  readonly #sections: ReadonlySet<string>;
  readonly #reads = new Map<string, Judged>();
  readonly #writes = new Map<string, Judged>();
  /** Children started by this thread that are still running: the cache is not used meanwhile. */
  children = 0;
  /** Inside a check: hooked calls the policy layer makes itself pass through unjudged. */
  busy = false;

  constructor(policy: CompiledPolicy, sections: readonly string[]) {
    this.#policy = policy;
    this.#sections = new Set(sections);
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
        op.kind === "read" || op.kind === "write" || op.kind === "exec" ? CHECK_OPTS : undefined,
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

  /** The absolute path of a program to exec, searched in PATH as execvp does (as given if not found). */
  which(file: string, pathEnv: string | undefined): string {
    if (file.includes("/")) return file.charCodeAt(0) === 47 ? file : resolve(file);
    this.busy = true;
    try {
      for (const dir of (pathEnv ?? "/usr/local/bin:/usr/bin:/bin").split(":")) {
        const p = resolve(dir === "" ? "." : dir, file);
        try {
          accessSync(p, constants.X_OK);
          return p;
        } catch {}
      }
      return file;
    } finally {
      this.busy = false;
    }
  }

  /** This thread changed a name: paths judged before may now lead elsewhere. */
  forget(): void {
    this.#reads.clear();
    this.#writes.clear();
  }
}
