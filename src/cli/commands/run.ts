/**
 * `warden run [options] -- <command...>`: run a program with Warden's agents preloaded, judge
 * what it does as it does it, and exit with its own exit code (docs/cli.md, docs/trace.md).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { basename, dirname, resolve } from "node:path";
import type { Command } from "commander";
import { AuditLog } from "../../audit/writer.js";
import { rank, type Verdict } from "../../core/decision.js";
import { isWardenError, WardenError } from "../../core/errors.js";
import {
  AGENT_PRELOAD,
  auditRecord,
  defaultPolicy,
  eventLine,
  hasTerminal,
  openSpool,
  pythonJudge,
  type SessionOptions,
  StraceRun,
  shown,
  startTraceServer,
  straceText,
  summaryOf,
  summaryText,
  type TraceEvent,
  TraceSession,
  terminalReviewer,
  tracedEnv,
  writeHandoff,
} from "../../trace/index.js";
import * as presetModule from "../../trace/policy/presets.js";
import { reportError, usageError } from "../output.js";
import { preparedPreset, type ReadyPolicy, readyPolicy } from "../run-policy.js";

interface Options {
  policy?: string;
  preset?: string;
  json?: boolean;
  audit?: string;
  failOn?: string;
  reviewTimeout?: string;
  verbose?: boolean;
  linger?: string;
  printPreset?: string;
  /** true: --strace (required), false: --no-strace, undefined: where it works. */
  strace?: boolean;
}

/** Exit status when Warden refuses to start the program (as a shell's "cannot execute"). */
export const REFUSED = 126;
/** Exit status when the command does not exist (as a shell's and env's). */
export const NOT_FOUND = 127;

/** A preset's policy, from the process policy presets when they exist (src/trace/policy/presets.ts). */
interface Presets {
  presetPolicy?: (name: string) => { text: string; file: string } | undefined;
  presetFor?: (argv: readonly string[]) => string | undefined;
  printPreset?: (name: string) => string | undefined;
}

async function presets(): Promise<Presets | undefined> {
  return presetModule;
}

function refused(message: string, details?: Record<string, unknown>): WardenError {
  return new WardenError("trace_refused", message, {
    category: "usage",
    ...(details ? { details } : {}),
  });
}

/** The policy to judge with: --policy, --preset, a preset the command calls for, or the default. */
async function choosePolicy(
  o: Options,
  argv: readonly string[],
): Promise<{ text: string; file: string; note?: string; preset?: string }> {
  if (o.policy !== undefined && o.preset !== undefined)
    throw usageError("--policy and --preset both name a policy: give one");
  if (o.policy !== undefined) {
    try {
      return { text: readFileSync(o.policy, "utf8"), file: o.policy };
    } catch (e) {
      throw refused(`cannot read the policy ${o.policy}: ${(e as Error).message}`);
    }
  }
  const p = await presets();
  if (o.preset !== undefined) {
    const got = p?.presetPolicy?.(o.preset);
    if (got === undefined)
      throw refused(
        p?.presetPolicy === undefined
          ? `--preset ${o.preset}: this build of Warden has no presets yet; give --policy FILE`
          : `--preset ${o.preset}: no such preset`,
      );
    return { ...got, preset: o.preset };
  }
  const auto = p?.presetFor?.(argv);
  const got = auto === undefined ? undefined : p?.presetPolicy?.(auto);
  if (got !== undefined)
    return { ...got, note: `preset ${auto} (chosen from the command)`, preset: auto };
  return { ...defaultPolicy(), note: "the default policy (no --policy)" };
}

function parseFailOn(v: string | undefined): Verdict | undefined {
  if (v === undefined) return undefined;
  if (v === "warn" || v === "review" || v === "block") return v;
  throw usageError(`--fail-on ${v}: use warn, review or block`);
}

function seconds(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw usageError(`${name} ${v}: give a number of seconds`);
  return n * 1000;
}

export function registerRun(program: Command): void {
  program
    .command("run")
    .description(
      "Run a program under Warden: every file, network, child process and environment access its Node processes make is judged by the policy before it happens (docs/trace.md). Exits with the program's own exit code.",
    )
    .argument("[command...]", "the program and its arguments, after --")
    .option(
      "--policy <file>",
      "the policy to judge with (default: a preset the command calls for, else the default policy)",
    )
    .option("--preset <name>", "a built-in policy preset (npm-install, pypi-install, air-gap)")
    .option("--print-preset <name>", "print a preset's policy (malwi's format) and exit")
    .option(
      "--json",
      "print each event as one JSON line on stdout (the program's stdout goes to stderr), then the summary",
    )
    .option("--audit <file>", "append every event to FILE as audit lines (docs/audit.md)")
    .option(
      "--fail-on <verdict>",
      "exit 1 instead of 0 when an event was at least this strict: warn, review or block",
    )
    .option(
      "--review-timeout <seconds>",
      "how long a review waits for an answer before it denies (default 60)",
    )
    .option("--verbose", "show allowed events too")
    .option(
      "--linger <seconds>",
      "after the program exits, how long to wait for its descendants (default 5)",
    )
    .option(
      "--strace",
      "require the strace layer (refuse to start without a working strace); by default it runs where strace works",
    )
    .option("--no-strace", "do not run the program under strace (no unhooked checks)")
    .action(async (command: string[], o: Options) => {
      try {
        if (o.printPreset !== undefined) {
          const text = (await presets())?.printPreset?.(o.printPreset);
          if (text === undefined)
            throw usageError(
              `--print-preset ${o.printPreset}: no such preset (npm-install, pypi-install, air-gap)`,
            );
          process.stdout.write(text);
          return;
        }
        if (command.length === 0) throw usageError("give the program to run after --");
        process.exitCode = await run(command, o);
      } catch (e) {
        if (
          !isWardenError(e) ||
          (e.code !== "trace_refused" && e.code !== "trace_command_not_found")
        )
          throw e;
        reportError(e, { json: o.json === true });
        process.exitCode = e.code === "trace_refused" ? REFUSED : NOT_FOUND;
      }
    });
}

async function run(command: string[], o: Options): Promise<number> {
  const failOn = parseFailOn(o.failOn);
  const reviewMs = seconds(o.reviewTimeout, "--review-timeout", 60_000);
  const lingerMs = seconds(o.linger, "--linger", 5_000);
  const json = o.json === true;
  const verbose = o.verbose === true;
  const color = !json && process.stderr.isTTY === true;
  if (!existsSync(AGENT_PRELOAD))
    throw refused(`the Node agent is missing (${AGENT_PRELOAD}): build Warden (npm run build)`);
  const policy = await choosePolicy(o, command);
  const ready = readied(policy);
  // What the policy does not enforce as written (a malwi key): said, located, before the run.
  for (const w of ready.warnings)
    process.stderr.write(`warden: ${w.file}:${w.line}:${w.col} warning ${w.code} ${w.message}\n`);
  const sections = [...ready.sections];
  const strace = StraceRun.prepare(o.strace === true ? "on" : o.strace === false ? "off" : "auto");
  if (strace.mode === "on" && strace.unavailable !== undefined)
    throw refused(`--strace: ${strace.unavailable}; install strace or drop --strace`);
  const program = basename(command[0]!);
  const audit =
    o.audit === undefined ? undefined : new AuditLog({ file: o.audit, arguments: "full" });
  const runId = `run-${process.pid}-${Date.now()}`;

  const write = (s: string): undefined | Promise<void> => {
    if (json ? process.stdout.write(s) : process.stderr.write(s)) return undefined;
    return new Promise((resolve) =>
      (json ? process.stdout : process.stderr).once("drain", () => resolve()),
    );
  };
  // A batch's lines are written at once (one write, one wait for a slow reader per batch).
  let lines = "";
  const onEvent = (e: TraceEvent): undefined => {
    strace.agentEvent(e);
    audit?.write(auditRecord(e, runId, program));
    if (json) lines += `${JSON.stringify(e)}\n`;
    else if (shown(e, verbose)) lines += `warden: ${eventLine(e, color)}\n`;
    return undefined;
  };
  const onBatchEnd = (): undefined | Promise<void> => {
    if (lines === "") return undefined;
    const s = lines;
    lines = "";
    return write(s);
  };
  const session = new TraceSession({
    // JSON on the YAML's lines: each traced process reads it without the YAML composer.
    policy: { text: ready.handed, file: policy.file },
    sections,
    reviewTimeoutMs: reviewMs,
    onEvent,
    onBatchEnd,
    review: terminalReviewer(reviewMs),
    judge: pythonJudgeOf(ready, sections),
  });
  const server = await startTraceServer(session);
  if (!json && policy.note !== undefined)
    process.stderr.write(
      `warden run: judging with ${policy.note}; sections: ${sections.join(", ") || "none"}\n`,
    );
  if (!hasTerminal() && !json && verbose)
    process.stderr.write("warden run: no terminal: review means deny\n");

  // Traced processes report through the spool until they need a thread (src/trace/spool.ts).
  const spool = openSpool(session);
  session.pullSpool = spool?.pull;
  // Every traced process reads the policy from this file instead of waiting for /configure.
  const handoff = writeHandoff(
    spool === undefined ? session.answer() : { ...session.answer(), spool: spool.value },
  );
  session.handoff = handoff?.env;
  const env = tracedEnv(process.env, {
    url: server.url,
    token: server.token,
    agent: AGENT_PRELOAD,
    config: handoff?.env,
  }).env;
  const argv = strace.command(command);
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ["inherit", json ? 2 : "inherit", "inherit"],
    env,
  });
  if (child.pid !== undefined) {
    const p = session.proc(child.pid);
    p.ppid = process.pid;
    p.path = command[0]!;
    p.argv = command;
    session.record(execEvent(command, child.pid, session.t0));
    // The strace layer judges too: the policy compiled for it (a prepared preset: now, after
    // the program started).
    if (strace.active)
      strace.attach({
        root: child.pid,
        policy: ready.compiled(),
        sections,
        serverPort: Number(new URL(server.url).port),
        // Warden's own reads in traced processes: the hand-over, the agents' code (Warden's dist).
        own: [
          ...(handoff !== undefined ? [handoff.path] : []),
          resolve(dirname(AGENT_PRELOAD), "../.."),
        ],
        ownWritten: spool !== undefined ? [spool.path] : [],
        agents: session,
        t0: session.t0,
        emit: (e) => session.record(e),
      });
  }
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  const onTerm = forward("SIGTERM");
  const onHup = forward("SIGHUP");
  process.on("SIGTERM", onTerm);
  process.on("SIGHUP", onHup);
  process.on("SIGINT", () => {}); // the terminal sends it to the program too; wait for its end
  const exit = await new Promise<number | Error>((resolve) => {
    child.once("error", (e) => resolve(e));
    child.once("exit", (code, signal) =>
      resolve(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0))),
    );
  });
  const { left } = await session.drain(lingerMs);
  await strace.finish(Math.max(lingerMs, 1000));
  spool?.close();
  await server.close();
  handoff?.remove();
  process.off("SIGTERM", onTerm);
  process.off("SIGHUP", onHup);
  audit?.close();

  let code: number;
  if (exit instanceof Error) {
    const e = exit as NodeJS.ErrnoException;
    if (e.code === "ENOENT")
      throw new WardenError(
        "trace_command_not_found",
        `${command[0]}: command not found (check the name and PATH)`,
        {
          category: "usage",
          details: { exit: NOT_FOUND },
        },
      );
    throw refused(`cannot start ${command[0]}: ${e.message}`);
  } else code = exit;
  const base = summaryOf(session, code, left);
  const summary = {
    ...base,
    // A spool record that could not be read is counted, never silently dropped.
    lost_records: spool?.stats.skipped ?? 0,
    processes: strace.processes(base.processes),
    not_seen: strace.notSeen(),
    strace: strace.summary(),
  };
  if (json) await write(`${JSON.stringify({ summary })}\n`);
  else process.stderr.write(summaryText(summary, color) + straceText(summary.strace));
  if (code === 0 && failOn !== undefined && rank(session.worst) >= rank(failOn)) return 1;
  return code;
}

/** The policy ready for the run: a preset as the build prepared it, else compiled now. */
function readied(policy: { text: string; file: string; preset?: string }): ReadyPolicy {
  const pre = policy.preset === undefined ? undefined : preparedPreset(policy.preset, policy.text);
  if (pre !== undefined) return pre;
  const r = readyPolicy(policy.text, policy.file);
  if (!r.ok) {
    for (const e of r.errors)
      process.stderr.write(`${e.file}:${e.line}:${e.col} ${e.code} ${e.message}\n`);
    throw refused(`${policy.file}: ${r.errors.length} error(s) (listed above); fix them`, {
      errors: r.errors,
    });
  }
  return r.policy;
}

/** `/judge` (a Python agent asks before each call): the policy compiled on the first ask. */
function pythonJudgeOf(ready: ReadyPolicy, sections: readonly string[]): SessionOptions["judge"] {
  let judge: ReturnType<typeof pythonJudge> | undefined;
  return (r) => {
    judge ??= pythonJudge(ready.compiled(), sections);
    return judge(r);
  };
}

/** The program's own exec, as the CLI saw it (the root of the tree). */
function execEvent(command: string[], pid: number, t0: bigint): TraceEvent {
  return {
    hook_type: "exec",
    event_type: "enter",
    function: "exec",
    module: command[0]!,
    arguments: command.map((a, i) => ({ index: i, display: a })),
    timestamp_ns: Number(process.hrtime.bigint() - t0),
    thread_id: 0,
    pid,
    target: command[0]!,
    verdict: "display",
  };
}
