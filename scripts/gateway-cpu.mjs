#!/usr/bin/env node
/**
 * One gateway's HTTP→HTTP latency and main-thread CPU per tools/call (HTTP listen, the bench's
 * SDK echo server as the HTTP upstream, allow-all policy), against calling that server directly.
 * Blocks of 100 calls alternate between the gateway and the direct server after 5,000 warm-up
 * calls; CPU is read from /proc/<pid>/task/<pid>/stat around the measured calls. For an A/B of
 * two builds run it in turns with CLI pointing at each build's dist/cli/main.js:
 *
 * `--audit` turns the audit log on (redacted arguments, the default).
 *
 *   npm run build && npx tsc -p tsconfig.bench.json
 *   for i in 1 2 3; do CLI=../wt-old/dist/cli/main.js node scripts/gateway-cpu.mjs http 6000
 *                      node scripts/gateway-cpu.mjs http 6000; done
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(import.meta.dirname, "..");
const { httpClient, spawnListening } = await import(
  pathToFileURL(join(root, "dist-bench/bench/mcp/raw-clients.js")).href
);
const mode = process.argv[2] ?? "http";
const N = Number(process.argv[3] ?? 10000);
if (mode !== "http" || !(N >= 100)) {
  process.stderr.write(
    "usage: node scripts/gateway-cpu.mjs http [calls, at least 100] [--audit]\n",
  );
  process.exit(2);
}
const cli = process.env.CLI ?? join(root, "dist/cli/main.js");
const ECHO = join(root, "dist-bench/bench/mcp/echo-server.js");
const node = process.execPath;
const dir = mkdtempSync(join(tmpdir(), "warden-gateway-cpu-"));
writeFileSync(
  join(dir, "p.yaml"),
  'version: "1.0"\nmcp:\n  transport: { stdio: true, http: true }\n  tools: { allow: ["*"] }\n',
);
const echo = await spawnListening(node, [ECHO, "--http"]);
const up = `  - name: echo\n    url: ${echo.url}\n`;
const audit = process.argv.includes("--audit") ? "audit: { file: ./audit.jsonl }\n" : "";
writeFileSync(
  join(dir, "w.yaml"),
  `listen: { http: { port: 0 } }\npolicy: ./p.yaml\n${audit}upstreams:\n${up}`,
);
const gw = await spawnListening(node, [
  cli,
  "gateway",
  "--config",
  join(dir, "w.yaml"),
  "--no-watch",
]);
const ticks = (pid) => {
  const f = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return [Number(f[11]) * 10, Number(f[12]) * 10]; // user, system ms (10 ms ticks)
};
const viaGateway = await httpClient(gw.url);
const direct = await httpClient(echo.url);
const ARGS = { name: "echo", arguments: { text: "hello from the benchmark" } };
for (let i = 0; i < 5000; i++) await viaGateway.call("tools/call", ARGS);
const lat = [];
const dl = [];
const t0 = ticks(gw.proc.pid);
for (let r = 0; r < N / 100; r++) {
  for (const [c, out] of [
    [viaGateway, lat],
    [direct, dl],
  ]) {
    for (let i = 0; i < 100; i++) {
      const t = process.hrtime.bigint();
      await c.call("tools/call", ARGS);
      out.push(Number(process.hrtime.bigint() - t));
    }
  }
}
const t1 = ticks(gw.proc.pid);
const p50 = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] / 1000;
const user = ((t1[0] - t0[0]) * 1000) / N;
const sys = ((t1[1] - t0[1]) * 1000) / N;
console.log(
  `${mode}${audit ? " + audit" : ""}: gateway p50 ${p50(lat).toFixed(0)} µs, direct ${p50(dl).toFixed(0)} µs, adds ${(p50(lat) - p50(dl)).toFixed(0)} µs; gateway main thread per call: user ${user.toFixed(0)} µs, system ${sys.toFixed(0)} µs (${cli})`,
);
gw.proc.kill("SIGTERM");
echo.proc.kill("SIGTERM");
await new Promise((r) => gw.proc.once("exit", r));
process.exit(0);
