/**
 * Which syscalls strace saw are worth checking against the agents' reports, and what the
 * policy says of them (docs/trace.md, "The strace layer: what is checked"):
 * - every successful `execve`/`execveat` (a program started);
 * - every `connect` to an IPv4/IPv6 address, except to `warden run`'s own server;
 * - an `open`/`openat`/`openat2`/`creat` only when the policy would not simply allow it (its
 *   `storage` section denies, reviews or warns on it) or when it touches a secret of the
 *   default policy (`~/.ssh`, `~/.aws`, ... read or written; shell startup files written),
 *   and it is not system noise (noise.ts).
 * strace sees a syscall after the fact: the verdict is what the policy *would* have said.
 */
import { resolve } from "node:path";
import type { Verdict } from "../../core/decision.js";
import { compilePolicy } from "../../policy/compile.js";
import { resolveRealPathSync } from "../../policy/io.js";
import type { CompiledPolicy } from "../../policy/policy.js";
import type { PolicyDecision } from "../../policy/types.js";
import { actionFor, type Op, SECTION_OF, unjudgedVerdict, verdictOf } from "../actions.js";
import { defaultPolicy } from "../default-policy.js";
import { isNoise } from "./noise.js";
import type { StraceRecord } from "./parse.js";

/** A record worth checking, with what the policy would have said. */
export interface Checked {
  readonly op: Op;
  readonly verdict: Verdict;
  readonly decision?: PolicyDecision;
}

const REAL = Object.freeze({ realPath: resolveRealPathSync });

export class StraceJudge {
  readonly #policy: CompiledPolicy;
  readonly #sections: ReadonlySet<string>;
  readonly #secrets: CompiledPolicy | undefined;
  readonly #server: ReadonlySet<string>;
  readonly #own: readonly string[];
  readonly #ownWritten: readonly string[];

  /**
   * `server`: `host:port` forms of warden run's own endpoint (never flagged); `own`: files and
   * folders Warden itself reads in the traced processes (the hand-over, the agents' code):
   * reading them is Warden's doing, not the program's; `ownWritten`: files the agents write
   * (the run's spool, src/trace/spool.ts).
   */
  constructor(
    policy: CompiledPolicy,
    sections: readonly string[],
    serverPort: number,
    own: readonly string[] = [],
    ownWritten: readonly string[] = [],
  ) {
    this.#own = own;
    this.#ownWritten = ownWritten;
    this.#policy = policy;
    this.#sections = new Set(sections);
    const d = compilePolicy(defaultPolicy().text, { file: "<warden run default policy>" });
    this.#secrets = d.ok ? d.policy : undefined;
    this.#server = new Set([
      `127.0.0.1:${serverPort}`,
      `::1:${serverPort}`,
      `::ffff:127.0.0.1:${serverPort}`,
    ]);
  }

  #judge(op: Op): { verdict: Verdict; decision?: PolicyDecision } {
    const section = SECTION_OF[op.kind];
    if (section === null || !this.#sections.has(section)) return { verdict: unjudgedVerdict(op) };
    const action = actionFor(op);
    if (action === null) return { verdict: unjudgedVerdict(op) };
    const d = this.#policy.check(action, op.kind === "connect" ? undefined : REAL);
    return { verdict: verdictOf(op, d), decision: d };
  }

  /** A read of Warden's own (a file named, as the kernel names it once removed, or under a folder). */
  #isOwn(path: string): boolean {
    for (const o of this.#own)
      if (path === o || path === `${o} (deleted)` || path.startsWith(`${o}/`)) return true;
    return false;
  }

  /** A write to a file of Warden's own (as named, or as the kernel names it once removed). */
  #isOwnWritten(path: string): boolean {
    for (const o of this.#ownWritten) if (path === o || path === `${o} (deleted)`) return true;
    return false;
  }

  /** The check of a record, or undefined when it is not worth checking. */
  check(r: StraceRecord): Checked | undefined {
    switch (r.kind) {
      case "exec": {
        if (!r.ok) return undefined;
        const op: Op = { kind: "exec", target: r.path, argv: r.argv };
        return { op, ...this.#judge(op) };
      }
      case "connect": {
        if (this.#server.has(`${r.ip}:${r.port}`)) return undefined;
        const op: Op = { kind: "connect", target: r.ip, port: r.port };
        return { op, ...this.#judge(op) };
      }
      case "open": {
        // The file the kernel opened (`-y`), else the path as given (a failed open).
        const path = resolve(r.opened?.startsWith("/") === true ? r.opened : r.path);
        if (isNoise(path, r.write) || (r.write ? this.#isOwnWritten(path) : this.#isOwn(path)))
          return undefined;
        const op: Op = { kind: r.write ? "write" : "read", target: path };
        const j = this.#judge(op);
        if (j.verdict !== "allow") return { op, ...j };
        const action = actionFor(op);
        if (
          this.#secrets !== undefined &&
          action !== null &&
          !this.#secrets.check(action, REAL).allowed
        )
          return { op, verdict: "allow" };
        return undefined;
      }
      default:
        return undefined;
    }
  }
}
