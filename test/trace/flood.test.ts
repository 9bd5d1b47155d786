// A flood of events from several traced processes at once: every event each agent sent is
// counted in the audit (one line each), none lost on the way (the deterministic shutdown,
// bounded queues with backpressure, batches grown under load), and the summary's counts agree.
// The figure, 100,000 events (WARDEN_TRACE_FLOOD=N for another).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { denyPolicy, files, runApp, tempDir } from "./helpers.js";

const TOTAL = Number(process.env.WARDEN_TRACE_FLOOD ?? 100_000);
const PROCS = 4;

describe("warden run: a flood of events", () => {
  it(`counts every one of ${TOTAL} events from ${PROCS} processes in the audit`, async () => {
    const dir = tempDir();
    const per = Math.ceil(TOTAL / PROCS);
    files(dir, {
      "policy.yaml": denyPolicy([join(dir, "never")]),
      "worker.js": `const fs = require("fs"); const n = Number(process.argv[2]);
for (let i = 0; i < n; i++) fs.statSync(__dirname);
try { fs.readFileSync(${JSON.stringify(join(dir, "never"))}); } catch {}`,
      "app.js": `const { spawn } = require("child_process");
let left = ${PROCS};
for (let i = 0; i < ${PROCS}; i++)
  spawn(process.execPath, ["worker.js", "${per}"], { stdio: "inherit" }).on("exit", () => { if (--left === 0) console.log("all done"); });`,
    });
    const audit = join(dir, "audit.jsonl");
    const r = await runApp(dir, { audit, timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(audit, "utf8").trim().split("\n");
    const stats = lines.filter((l) => l.includes('"method":"js:fs.statSync"'));
    expect(stats).toHaveLength(per * PROCS);
    const pids = new Set(stats.map((l) => (JSON.parse(l) as { caller: string }).caller));
    expect(pids.size).toBe(PROCS);
    expect(lines.filter((l) => l.includes('"decision":"deny"'))).toHaveLength(PROCS);
    const summary = (
      JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
        summary: { events: number; lost: number; agents: number };
      }
    ).summary;
    expect(summary.events).toBe(lines.length);
    expect(summary.lost).toBe(0);
    expect(summary.agents).toBe(PROCS + 1);
  }, 300_000);
});
