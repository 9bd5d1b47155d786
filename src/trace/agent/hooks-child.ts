/**
 * Child process hooks. Every asynchronous form (spawn, exec, execFile, fork, and Node's own
 * users) goes through `ChildProcess.prototype.spawn`; the synchronous forms each call the
 * binding themselves and are wrapped one by one. Each exec is judged and reported (`/child`),
 * and a child whose caller dropped the trace from its environment gets it back. A blocked spawn
 * fails as a missing executable does (ENOENT), naming Warden and the rule.
 */
import type * as CP from "node:child_process";
import { rank } from "../../core/decision.js";
import type { Op } from "../actions.js";
import { type TraceEnv, tracedEnv, tracedEnvPairs } from "../env.js";
import { spawnError } from "./errors.js";
import type { Judged } from "./judge.js";
import type { Tracer } from "./tracer.js";

/** Where a blocked asynchronous spawn is pointed, so that Node fails it as ENOENT itself. */
const NOWHERE = "/nonexistent/warden-blocked-spawn";

interface SpawnOptions {
  file: string;
  args?: string[];
  envPairs?: string[];
}

type AnyFn = (...a: unknown[]) => unknown;

/** PATH of a child's environment pairs. */
function pathOf(pairs: string[] | undefined): string | undefined {
  const p = pairs?.find((e) => e.startsWith("PATH="));
  return p === undefined ? process.env.PATH : p.slice(5);
}

/** What Node reads from spawn options whether enumerable or not (each read once, in `plainOf`). */
const SPAWN_KEYS = [
  "file",
  "args",
  "envPairs",
  "env",
  "cwd",
  "stdio",
  "detached",
  "uid",
  "gid",
  "shell",
  "argv0",
  "windowsHide",
  "windowsVerbatimArguments",
  "encoding",
  "input",
  "timeout",
  "maxBuffer",
  "killSignal",
  "signal",
  "serialization",
];

/**
 * Options read once, before the judgement: a copy with no prototype of their own and inherited
 * enumerable keys (for-in) and of what Node reads (`SPAWN_KEYS`, from the object or any of its
 * prototypes). Node is given the copy: a getter (own, or on a prototype) that answered the check
 * one program and Node another, and a key on a prototype that the check did not read, no longer
 * choose what runs.
 */
function plainOf(o: object): Record<string, unknown> {
  const copy = { __proto__: null } as unknown as Record<string, unknown>;
  for (const k in o) copy[k] = (o as Record<string, unknown>)[k];
  for (const k of SPAWN_KEYS)
    if (!(k in copy)) {
      const v = (o as Record<string, unknown>)[k];
      if (v !== undefined) copy[k] = v;
    }
  return copy;
}

/** The asynchronous forms a `nodejs` section may name (all end in `ChildProcess#spawn`). */
const ASYNC_FORMS = ["spawn", "exec", "execFile", "fork"] as const;

/**
 * Judge an exec by `commands` (the program) and, where the `nodejs` section names `fn`
 * (`child_process.exec`), by the function with the argv as its arguments: the strictest answer
 * wins, as the Python agent does for `subprocess.Popen`.
 */
function judgeExec(t: Tracer, fn: string, op: Op, argv: readonly string[]): Judged {
  const named = t.judge.names("nodejs", fn) ? t.judge.fn("nodejs", fn, argv) : undefined;
  if (named === undefined) return t.op(fn, "child_process", op, argv.slice(1));
  const byProgram = t.judge.op(op);
  const j = rank(named.verdict) > rank(byProgram.verdict) ? named : byProgram;
  return t.record(fn, "child_process", op.target, j, argv.slice(1));
}

export function hookChildProcess(cp: typeof CP, t: Tracer, env: TraceEnv): string[] {
  const proto = cp.ChildProcess.prototype as unknown as {
    spawn: (this: CP.ChildProcess, o: SpawnOptions) => unknown;
  };
  const spawn = proto.spawn;
  // The public function the program called (`exec` calls `execFile`: the outermost is kept),
  // set only for the forms the `nodejs` section names.
  let form: string | undefined;
  const target = cp as unknown as Record<string, AnyFn>;
  for (const f of ASYNC_FORMS) {
    const name = `child_process.${f}`;
    const orig = target[f];
    if (typeof orig !== "function" || !t.judge.names("nodejs", name)) continue;
    target[f] = function (this: unknown, ...a: unknown[]) {
      if (form !== undefined) return Reflect.apply(orig, this, a);
      form = name;
      try {
        return Reflect.apply(orig, this, a);
      } finally {
        form = undefined;
      }
    };
  }
  proto.spawn = function (this: CP.ChildProcess, given: SpawnOptions) {
    // Node's own callers hand a fresh object; a program calling ChildProcess#spawn itself may
    // hand getters: what is judged is what Node gets.
    if (given === null || typeof given !== "object") return spawn.call(this, given);
    const o = plainOf(given) as unknown as SpawnOptions;
    const file = String(o.file);
    o.file = file;
    const args = Array.isArray(o.args) ? o.args.map(String) : [file];
    if (Array.isArray(o.args)) o.args = args;
    if (Array.isArray(o.envPairs)) o.envPairs = o.envPairs.map(String);
    const path = t.judge.judges("commands") ? t.judge.which(file, pathOf(o.envPairs)) : file;
    const fn = form ?? "child_process.spawn";
    form = undefined;
    const j = judgeExec(t, fn, { kind: "exec", target: path, argv: args }, args);
    if (j.verdict === "block") {
      const err = spawnError(file, args, j);
      const self = this as unknown as { emit: AnyFn };
      const emit = self.emit;
      self.emit = function (this: unknown, ev: unknown, ...rest: unknown[]) {
        if (ev === "error") {
          self.emit = emit;
          return emit.call(this, ev, err);
        }
        return emit.call(this, ev, ...rest);
      };
      o.file = NOWHERE;
      const r = spawn.call(this, o);
      (this as { spawnfile: string }).spawnfile = file;
      return r;
    }
    const restored = Array.isArray(o.envPairs) ? tracedEnvPairs(o.envPairs, env) : false;
    const r = spawn.call(this, o);
    if (typeof this.pid === "number") {
      t.judge.children++;
      this.once("exit", () => t.judge.children--);
      t.channel.notify("child", {
        parent_pid: process.pid,
        child_pid: this.pid,
        path: file,
        argv: args,
        env_restored: restored,
      });
    }
    return r;
  };

  const installed = ["child_process.spawn"];
  for (const name of ["spawnSync", "execFileSync", "execSync"] as const) {
    const orig = target[name];
    if (typeof orig !== "function") continue;
    target[name] = function (this: unknown, ...a: unknown[]) {
      let file: string;
      let args: string[];
      let opts: Record<string, unknown> | undefined;
      // Each argument read once (the options as a plain copy, `plainOf`): Node gets what was
      // judged, and what Node will run is judged (with `shell`, the shell and its command line).
      const first = a[0];
      const list = name !== "execSync" && Array.isArray(a[1]);
      const rawOpts = name === "execSync" ? a[1] : list ? a[2] : a[1];
      if (rawOpts !== null && typeof rawOpts === "object") opts = plainOf(rawOpts);
      else if (rawOpts !== undefined && rawOpts !== null) return Reflect.apply(orig, this, a); // Node's own error for options of another type
      if (typeof first !== "string") return Reflect.apply(orig, this, a); // Node's own error
      const argList = list ? (a[1] as unknown[]).map(String) : [];
      if (name === "execSync") {
        file = typeof opts?.shell === "string" ? opts.shell : "/bin/sh";
        args = [file, "-c", first];
      } else if (opts?.shell) {
        // As Node's normalizeSpawnArguments: the shell runs the line of file and arguments.
        const line = [first, ...argList].join(" ");
        file = typeof opts.shell === "string" ? opts.shell : "/bin/sh";
        args = [file, "-c", line];
      } else {
        file = first;
        args = [file, ...argList];
      }
      const fn = `child_process.${name}`;
      const envPath = ((opts?.env ?? process.env) as Record<string, string | undefined>).PATH;
      const path = t.judge.judges("commands") ? t.judge.which(file, envPath) : file;
      const j = judgeExec(t, fn, { kind: "exec", target: path, argv: args }, args);
      if (j.verdict === "block") {
        const err = spawnError(file, args, j);
        if (name === "spawnSync")
          return {
            pid: 0,
            output: null,
            stdout: null,
            stderr: null,
            status: null,
            signal: null,
            error: err,
          };
        Object.assign(err, {
          status: null,
          signal: null,
          output: null,
          stdout: null,
          stderr: null,
        });
        throw err;
      }
      const base = (opts?.env ?? process.env) as Record<string, string | undefined>;
      const traced = tracedEnv(base, env);
      const withEnv = opts ?? ({ __proto__: null } as unknown as Record<string, unknown>);
      withEnv.env = traced.env;
      const call =
        name === "execSync"
          ? [first, withEnv]
          : list
            ? [first, argList, withEnv]
            : [first, withEnv];
      // The spawn event leaves now, not after the child ends: the strace layer matches the
      // child's exec against it while the child runs.
      t.channel.flush();
      t.judge.children++;
      let r: unknown;
      try {
        r = Reflect.apply(orig, this, call);
        return r;
      } finally {
        t.judge.children--;
        const pid = (r as { pid?: unknown } | undefined)?.pid;
        t.channel.notify("child", {
          parent_pid: process.pid,
          child_pid: typeof pid === "number" ? pid : 0,
          path: file,
          argv: args,
          env_restored: traced.restored,
        });
      }
    };
    installed.push(`child_process.${name}`);
  }
  return installed;
}
