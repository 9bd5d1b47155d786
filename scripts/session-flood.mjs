#!/usr/bin/env node
// What a session flood leaves behind: `node scripts/session-flood.mjs [N] [dist dir]` starts
// `warden gateway` over HTTP twice, with one fixture stdio upstream as `sessions: per_session`
// (max_processes at its default, 32, without waiting) and as `sessions: shared`, sends N
// `initialize` calls without DELETE to each, and prints how many were answered, the upstream
// processes left and their summed RSS, read from /proc (Linux).
// Issue 18 measured 156 processes holding 9.2 GB after 150 such calls; build first (npm run build).
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

const N = Number(process.argv[2] ?? 150);
const dist = resolve(process.argv[3] ?? "dist");
const fixture = resolve("test/fixtures/mcp-server/server.mjs");
const INIT = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "f", version: "1" },
  },
});

/** The pids whose parent is `pid`, and the RSS (kB) of each. */
function children(pid) {
  const out = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, "utf8");
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      if (ppid !== pid) continue;
      out.push({ pid: Number(d), rssKb: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) });
    } catch {}
  }
  return out;
}

async function run(sessions) {
  const dir = mkdtempSync(join(tmpdir(), "warden-flood-"));
  writeFileSync(
    join(dir, "policy.yaml"),
    'version: "1.0"\nmcp:\n  transport: { stdio: true, http: true }\n  tools: { allow: ["echo"] }\n',
  );
  writeFileSync(
    join(dir, "warden.yaml"),
    `listen: { http: { port: 0, max_sessions: ${N + 10}, max_sessions_per_token: ${N + 10} } }\npolicy: ./policy.yaml\nupstreams:\n  - name: a\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(fixture)}]\n    sessions: ${sessions}\n    max_processes_wait_ms: 0\n`,
  );
  const gw = spawn(
    process.execPath,
    [join(dist, "cli/main.js"), "gateway", "--config", join(dir, "warden.yaml"), "--no-watch"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const url = await new Promise((ok, fail) => {
    const rl = createInterface({ input: gw.stderr });
    rl.on("line", (l) => {
      const m = /(http:\/\/[^\s]+)/.exec(l);
      if (m) ok(m[1]);
    });
    gw.once("exit", () => fail(new Error("the gateway exited")));
  });
  let ok = 0;
  for (let i = 0; i < N; i++) {
    const r = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: INIT,
    });
    if (r.status === 200) ok++;
    await r.arrayBuffer();
  }
  const kids = children(gw.pid);
  const gwRss = Number(
    /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${gw.pid}/status`, "utf8"))?.[1] ?? 0,
  );
  gw.kill("SIGTERM");
  await new Promise((r) => gw.once("exit", r));
  const mb = (kb) => (kb / 1024).toFixed(0);
  console.log(
    `sessions: ${sessions.padEnd(11)} ${ok}/${N} initialize answered 200; upstream processes left: ${kids.length}, their RSS ${mb(kids.reduce((s, k) => s + k.rssKb, 0))} MB; gateway RSS ${mb(gwRss)} MB`,
  );
}

await run("per_session");
await run("shared");
