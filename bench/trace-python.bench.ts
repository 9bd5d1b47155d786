/**
 * The Python agent's costs (issue 22): what its audit hook adds to `open(path).read()` of a
 * small file for a path judged before (the answer remembered in the process), and the first
 * sight of a path (one synchronous `/judge` round trip to the CLI, which resolves the real path
 * and judges with Warden's policy layer), each against the same call untraced, measured in
 * python3 child processes run in turns in the same run. Skipped (no rows) without python3.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compilePolicy } from "../src/policy/compile.js";
import { tracedEnv } from "../src/trace/env.js";
import { AGENT_PRELOAD } from "../src/trace/index.js";
import { pythonJudge } from "../src/trace/python/index.js";
import { startTraceServer } from "../src/trace/server.js";
import { TraceSession } from "../src/trace/session.js";
import type { Harness } from "./harness.js";

interface Out {
  traced: boolean;
  open_p50_ns: number;
  open_p99_ns: number;
  samples: number;
  first_sight_ns: number;
}

const CHILD = `
import json, os, sys, time
d, n, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
small = os.path.join(d, "small.txt")
def once(p):
    with open(p) as f:
        f.read()
ts = []
for _ in range(reps):
    t = time.perf_counter_ns(); once(small); ts.append(time.perf_counter_ns() - t)
ts.sort()
many = [os.path.join(d, "many", str(i)) for i in range(n)]
t = time.perf_counter_ns()
for p in many:
    once(p)
first = (time.perf_counter_ns() - t) / n
print(json.dumps({"traced": "_warden_trace" in sys.modules, "open_p50_ns": ts[len(ts) // 2], "open_p99_ns": ts[int(len(ts) * 0.99)], "samples": reps, "first_sight_ns": first}))
`;

const SITE = fileURLToPath(new URL("../../dist/trace/python/site", import.meta.url));

function python(): string | undefined {
  const r = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

async function runPython(py: string, args: string[], policy: string | undefined): Promise<Out> {
  let env: NodeJS.ProcessEnv = { ...process.env };
  let close = async () => {};
  let session: TraceSession | undefined;
  if (policy !== undefined) {
    const compiled = compilePolicy(policy, { file: "bench-policy.yaml" });
    if (!compiled.ok) throw new Error(compiled.errors[0]?.message);
    session = new TraceSession({
      policy: { text: policy, file: "bench-policy.yaml" },
      sections: ["storage"],
      reviewTimeoutMs: 1000,
      onEvent: () => undefined,
      review: async () => ({ decision: "deny", why: "no_tty" }),
      judge: pythonJudge(compiled.policy, ["storage"]),
    });
    const server = await startTraceServer(session);
    env = tracedEnv(process.env, {
      url: server.url,
      token: server.token,
      agent: AGENT_PRELOAD,
    }).env;
    // The agent's Python files are in dist/ (scripts/build.mjs copies them), not in dist-bench/.
    env.PYTHONPATH = SITE;
    close = () => server.close();
  }
  const out = await new Promise<string>((resolve, reject) => {
    const c = spawn(py, args, { env, stdio: ["ignore", "pipe", "inherit"] });
    let s = "";
    c.stdout.setEncoding("utf8").on("data", (d: string) => (s += d));
    c.on("error", reject);
    c.on("close", (code) => (code === 0 ? resolve(s) : reject(new Error(`python exited ${code}`))));
  });
  if (session !== undefined) {
    await session.drain(5000);
    if (session.lost > 0) throw new Error(`${session.lost} events lost`);
  }
  await close();
  const o = JSON.parse(out) as Out;
  if (o.traced !== (policy !== undefined))
    throw new Error(`the python child ran ${o.traced ? "traced" : "untraced"}: check ${SITE}`);
  return o;
}

export default async function (h: Harness): Promise<void> {
  const py = python();
  if (py === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), "warden-trace-py-bench-"));
  try {
    writeFileSync(join(dir, "small.txt"), "x".repeat(100));
    mkdirSync(join(dir, "many"));
    const n = h.quick ? 300 : 2000;
    for (let i = 0; i < n; i++) writeFileSync(join(dir, "many", String(i)), "");
    const script = join(dir, "child.py");
    writeFileSync(script, CHILD);
    const policy = `version: "1.0"
storage:
  deny:
    - { uri: ${JSON.stringify(join(dir, "secret/**"))}, access: [read, write] }
    - { uri: "/etc/shadow", access: [read, write] }
  allow:
    - { uri: "/**", access: [read, write] }
`;
    const args = [script, dir, String(n), String(h.quick ? 5_000 : 50_000)];
    // Untraced and traced in turns (twice each), the lower figure of each kept.
    const runs: { traced: boolean; out: Out }[] = [];
    for (let round = 0; round < 2; round++) {
      runs.push({ traced: false, out: await runPython(py, args, undefined) });
      runs.push({ traced: true, out: await runPython(py, args, policy) });
    }
    const best = (traced: boolean, k: Exclude<keyof Out, "traced">) =>
      Math.min(...runs.filter((r) => r.traced === traced).map((r) => r.out[k]));
    const u = best(false, "open_p50_ns");
    const t = best(true, "open_p50_ns");
    const samples = runs[0]!.out.samples;
    h.record({
      name: "trace: python open().read() (100 B), untraced",
      p50_ns: u,
      p99_ns: best(false, "open_p99_ns"),
      ops_per_s: Math.round(1e9 / u),
      samples,
    });
    h.record({
      name: "trace: python open().read() (100 B), traced, path judged before",
      p50_ns: t,
      p99_ns: best(true, "open_p99_ns"),
      ops_per_s: Math.round(1e9 / t),
      samples,
      note: `added ${Math.round(t - u)} ns p50 (audit hook, cached answer, event recorded)`,
    });
    const fu = best(false, "first_sight_ns");
    const ft = best(true, "first_sight_ns");
    h.record({
      name: "trace: python open().read(), first sight of a path (/judge round trip)",
      p50_ns: Math.round(ft),
      p99_ns: Math.round(ft),
      ops_per_s: Math.round(1e9 / ft),
      samples: n,
      note: `mean of ${n} distinct files; untraced ${Math.round(fu)} ns; added ${Math.round(ft - fu)} ns`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
