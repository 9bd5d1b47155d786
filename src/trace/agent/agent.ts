/**
 * The Node agent, preloaded into every traced Node process (`NODE_OPTIONS=--require
 * .../preload.cjs`): before user code runs it reads the policy `warden run` handed over in a
 * file (src/trace/handoff.ts; else it asks `/configure` and blocks, as the seed's agent does),
 * compiles it with Warden's own policy layer, installs
 * the hooks and reports them (`/ready`). Each hooked call is then judged in-process,
 * synchronously, before it goes on. At exit the last batch is posted, then `/shutdown`.
 */
import { createRequire, syncBuiltinESMExports } from "node:module";
import { isMainThread, threadId, workerData } from "node:worker_threads";
import { compilePolicy } from "../../policy/compile.js";
import { readHandoff } from "../handoff.js";
import { type ConfigureAnswer, ENV_AGENT, ENV_CONFIG, ENV_TOKEN, ENV_URL } from "../protocol.js";
import { Channel } from "./channel.js";
import { hookChildProcess } from "./hooks-child.js";
import { hookCode } from "./hooks-code.js";
import { hookEnv } from "./hooks-env.js";
import { hookFs } from "./hooks-fs.js";
import { hookBindings, hookDlopen, hookWorkers } from "./hooks-misc.js";
import { hookDgram, hookDns, hookFetch, hookHttp, hookNet } from "./hooks-net.js";
import { hookWasi, ownRealpathOf } from "./hooks-wasi.js";
import { Judge } from "./judge.js";
import { Tracer } from "./tracer.js";
import { FLUSHER_MARK } from "./wire.js";

/** How long a process waits for `/configure` before it refuses to run (fail closed). */
const CONFIGURE_MS = 60_000;
/** How long the last batch and `/shutdown` may take at exit. */
const SHUTDOWN_MS = 10_000;

/** Exit status of a process the agent cannot trace (as a shell's "cannot execute"). */
const REFUSED = 126;

function refuse(code: string, why: string): never {
  process.stderr.write(`warden: ${code}: ${why}\n`);
  process.exit(REFUSED);
}

let started = false;

/** The hand-over's spool, when it is warden run's (the pid the hand-over names: the giver). */
function spoolOf(spool: string | undefined, config: string | undefined): string | undefined {
  if (spool === undefined || config === undefined) return undefined;
  const giver = config.split(":")[1];
  return spool.split(":")[0] === giver ? spool : undefined;
}

export function start(): void {
  if (started) return;
  started = true;
  if (!isMainThread && (workerData as Record<string, unknown> | null)?.[FLUSHER_MARK] === true)
    return;
  const url = process.env[ENV_URL];
  const token = process.env[ENV_TOKEN];
  const agentPath = process.env[ENV_AGENT];
  if (url === undefined || token === undefined || agentPath === undefined) return;

  const channel = new Channel(url, token, process.pid, threadId);
  const hello = {
    pid: process.pid,
    ppid: process.ppid,
    thread_id: threadId,
    nodejs_version: process.version,
    argv: process.argv,
  };
  // The answer warden run handed over in a file (its hash checked): no waiting for the flusher
  // thread to start and the CLI to answer; registered with /configure before any event, in the
  // run's spool (no thread started until one is needed) or by the flusher.
  const handed = readHandoff(process.env[ENV_CONFIG]);
  let c: ConfigureAnswer;
  if (typeof handed !== "string") {
    c = handed;
    channel.useSpool(spoolOf(handed.spool, process.env[ENV_CONFIG]));
    channel.notify("hello", { ...hello, config: process.env[ENV_CONFIG] });
  } else {
    channel.start();
    const cfg = channel.request({ t: "configure", body: hello }, CONFIGURE_MS);
    if (!cfg.ok) refuse("trace_agent_failed", `cannot reach warden run at ${url} (${cfg.error})`);
    c = cfg.body as ConfigureAnswer;
  }
  channel.batchEvents = c.batch_events;
  channel.batchMs = c.batch_ms;
  const compiled = compilePolicy(c.policy.text, { file: c.policy.file });
  if (!compiled.ok)
    refuse(
      "trace_agent_failed",
      `the policy does not compile here: ${compiled.errors[0]?.message ?? "?"}`,
    );

  const judge = new Judge(compiled.policy, c.sections);
  const tracer = new Tracer(judge, channel, BigInt(c.t0), c.review_timeout_ms, {
    pid: process.pid,
    threadId,
  });
  const require = createRequire(import.meta.url);
  const traceEnv = {
    url,
    token,
    agent: agentPath,
    // Its children get the run's hand-over (from warden run when this process could not take it).
    config: typeof handed === "string" ? (c.handoff ?? "") : process.env[ENV_CONFIG],
  };
  // Taken before the fs hooks: the WASI hook resolves preopens without judging them as reads.
  const ownRealpath = ownRealpathOf(require("node:fs"));
  const hooks = [
    ...hookFs(require("node:fs"), tracer),
    ...hookChildProcess(require("node:child_process"), tracer, traceEnv),
    ...hookNet(require("node:net"), tracer),
    ...hookDgram(require("node:dgram"), tracer),
    ...hookHttp(require("node:http"), "http", tracer),
    ...hookHttp(require("node:https"), "https", tracer),
    ...hookFetch(tracer),
    ...hookDns(require("node:dns"), tracer),
    ...hookWorkers(require("node:worker_threads"), tracer, traceEnv),
    ...hookDlopen(tracer),
    ...hookEnv(tracer),
    ...hookCode(require("node:vm"), tracer),
    ...hookWasi(tracer, compiled.policy, ownRealpath, require("node:module")),
    ...hookBindings(tracer, require("node:module")),
  ];
  // ESM named imports of builtins (`import { readFileSync } from "node:fs"`) see the hooks.
  syncBuiltinESMExports();
  channel.notify("ready", { pid: process.pid, thread_id: threadId, hooks_installed: hooks });

  // After every 'exit' listener (theirs may still do traced work): last batch, then /shutdown.
  const emit = process.emit;
  process.emit = function (this: NodeJS.Process, ev: string | symbol, ...args: unknown[]) {
    const r = Reflect.apply(emit, this, [ev, ...args]) as boolean;
    if (ev === "exit") channel.close(SHUTDOWN_MS);
    return r;
  } as typeof process.emit;
}
