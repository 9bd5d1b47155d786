/**
 * `warden run`'s costs (issue 22 goals): what the Node agent adds per hooked call, judging
 * in-process, to fs.statSync (≤ 2 µs p50) and fs.readFileSync of a small file (≤ 5 µs p50) for
 * a path judged before; the first sight of a path (its real path resolved) beside it; each
 * against the same call untraced, measured in child processes run in turns in the same run. And
 * the event throughput from an agent into the CLI (≥ 100,000 events/s), every event counted.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { tracedEnv } from "../src/trace/env.js";
import { AGENT_PRELOAD } from "../src/trace/index.js";
import type { TraceEvent } from "../src/trace/protocol.js";
import { startTraceServer } from "../src/trace/server.js";
import { TraceSession } from "../src/trace/session.js";
import type { CaseResult, Harness } from "./harness.js";

const CHILD = join(dirname(fileURLToPath(import.meta.url)), "trace-child.js");

interface ChildOut {
  results: CaseResult[];
  first_sight_ns: number;
  traced: boolean;
}

function policyFor(dir: string): string {
  return `version: "1.0"
storage:
  deny:
    - { uri: ${JSON.stringify(join(dir, "secret/**"))}, access: [read, write] }
    - { uri: "/etc/shadow", access: [read, write] }
  allow:
    - { uri: "/**", access: [read, write] }
`;
}

/** Run a node script, traced (an in-process server and session) or not; its stdout, and events. */
async function runNode(
  args: string[],
  traced: { policy: string } | undefined,
  onEvent?: (e: TraceEvent) => void,
): Promise<string> {
  let env: NodeJS.ProcessEnv = { ...process.env };
  let close = async () => {};
  let session: TraceSession | undefined;
  if (traced !== undefined) {
    session = new TraceSession({
      policy: { text: traced.policy, file: "bench-policy.yaml" },
      sections: ["storage"],
      reviewTimeoutMs: 1000,
      onEvent: (e) => {
        onEvent?.(e);
        return undefined;
      },
      review: async () => ({ decision: "deny", why: "no_tty" }),
    });
    const server = await startTraceServer(session);
    env = tracedEnv(process.env, {
      url: server.url,
      token: server.token,
      agent: AGENT_PRELOAD,
    }).env;
    close = () => server.close();
  }
  const out = await new Promise<string>((resolve, reject) => {
    const c = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "inherit"] });
    let s = "";
    c.stdout.setEncoding("utf8").on("data", (d: string) => (s += d));
    c.on("error", reject);
    c.on("close", (code) =>
      code === 0 ? resolve(s) : reject(new Error(`${args.join(" ")} exited ${code}`)),
    );
  });
  if (session !== undefined) {
    await session.drain(5000);
    if (session.lost > 0) throw new Error(`${session.lost} events lost`);
  }
  await close();
  return out;
}

export default async function (h: Harness): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "warden-trace-bench-"));
  try {
    writeFileSync(join(dir, "small.txt"), "x".repeat(100));
    mkdirSync(join(dir, "many"));
    const n = h.quick ? 500 : 5000;
    for (let i = 0; i < n; i++) writeFileSync(join(dir, "many", String(i)), "");
    const policy = policyFor(dir);
    const args = [CHILD, dir, ...(h.quick ? ["--quick"] : [])];
    // Untraced and traced in turns (twice each), the lower p50 of each kept.
    const runs: ChildOut[] = [];
    for (let round = 0; round < 2; round++) {
      runs.push(JSON.parse(await runNode(args, undefined)) as ChildOut);
      runs.push(JSON.parse(await runNode(args, { policy })) as ChildOut);
    }
    const best = (traced: boolean, i: number) =>
      runs
        .filter((r) => r.traced === traced)
        .map((r) => r.results[i]!)
        .sort((a, b) => a.p50_ns - b.p50_ns)[0]!;
    const first = (traced: boolean) =>
      Math.min(...runs.filter((r) => r.traced === traced).map((r) => r.first_sight_ns));
    const goals = ["goal ≤ 2 µs p50 added", "goal ≤ 5 µs p50 added"];
    for (const [i, call] of ["fs.statSync", "fs.readFileSync (100 B)"].entries()) {
      const u = best(false, i);
      const t = best(true, i);
      h.record({
        name: `trace: ${call}, untraced`,
        p50_ns: u.p50_ns,
        p99_ns: u.p99_ns,
        ops_per_s: u.ops_per_s,
        samples: u.samples,
      });
      h.record({
        name: `trace: ${call}, traced, path judged before`,
        p50_ns: t.p50_ns,
        p99_ns: t.p99_ns,
        ops_per_s: t.ops_per_s,
        samples: t.samples,
        note: `added ${Math.round(t.p50_ns - u.p50_ns)} ns p50; ${goals[i]}`,
      });
    }
    const fu = first(false);
    const ft = first(true);
    h.record({
      name: "trace: fs.statSync, first sight of a path (real path resolved)",
      p50_ns: Math.round(ft),
      p99_ns: Math.round(ft),
      ops_per_s: Math.round(1e9 / ft),
      samples: n,
      note: `mean of ${n} distinct files; untraced ${Math.round(fu)} ns; added ${Math.round(ft - fu)} ns`,
    });

    // Throughput: one traced process making events as fast as it can; every one must arrive.
    const events = h.quick ? 50_000 : 200_000;
    const script = join(dir, "flood.js");
    writeFileSync(
      script,
      `const fs = require("fs"); for (let i = 0; i < ${events}; i++) fs.statSync(${JSON.stringify(dir)});`,
    );
    let count = 0;
    let firstAt = 0n;
    let lastAt = 0n;
    // CPU time beside the wall clock: the CLI's (this process serves the events) per event.
    const cpu0 = process.cpuUsage();
    await runNode([script], { policy }, (e) => {
      if (e.function !== "js:fs.statSync") return;
      if (count === 0) firstAt = process.hrtime.bigint();
      count++;
      lastAt = process.hrtime.bigint();
    });
    if (count !== events) throw new Error(`throughput: ${count} of ${events} events arrived`);
    const ns = Number(lastAt - firstAt);
    const cpu = process.cpuUsage(cpu0);
    const cliUs = (cpu.user + cpu.system) / events;
    h.record({
      name: "trace: events from one agent into the CLI",
      p50_ns: Math.round(ns / events),
      p99_ns: Math.round(ns / events),
      ops_per_s: Math.round((events / ns) * 1e9),
      samples: events,
      note: `${events} events, all counted (first to last arrival); CLI CPU ${cliUs.toFixed(2)} µs per event; goal ≥ 100,000/s`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
