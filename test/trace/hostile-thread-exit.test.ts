// An attacker hiding a refused call from the audit by ending its thread at once (real `warden
// run`, real node, no strace). An ESM loader registered with `module.register` runs in its own
// thread (with the agent): its read of a denied file was refused, but the process exited right
// after and the block never reached the run's record (0 blocks in the summary); the same for a
// worker terminated right after its refused read. A block now leaves at once (not up to 50 ms
// later, with its batch), so each is in the audit.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { denyPolicy, files, runWarden, tempDir } from "./helpers.js";
import { eventsOf } from "./python-helpers.js";

const LOADER = `
import { readFileSync } from "node:fs";
export async function initialize({ port, secret }) {
  let r;
  try { r = "GOT " + readFileSync(secret, "utf8").trim(); } catch (e) { r = "refused " + e.code; }
  port.postMessage(r);
}
`;

const APP = `
import { register } from "node:module";
import { MessageChannel, Worker } from "node:worker_threads";
const secret = process.argv[2];
const { port1, port2 } = new MessageChannel();
const fromLoader = new Promise((done) => port1.once("message", done));
register("./loader.mjs", import.meta.url, { data: { port: port2, secret }, transferList: [port2] });
console.error("loader", await fromLoader);
port1.close();
const code = "const { parentPort, workerData } = require('worker_threads'); let r; try { r = 'GOT ' + require('fs').readFileSync(workerData, 'utf8') } catch (e) { r = 'refused ' + e.code } parentPort.postMessage(r); for (;;) {}";
const w = new Worker(code, { eval: true, workerData: secret });
console.error("worker", await new Promise((done) => w.once("message", done)));
await w.terminate();
`;

describe("warden run: a thread that ends right after a refused call", () => {
  it("records the block of an ESM loader's thread and of a terminated worker", async () => {
    const root = tempDir("warden-hostile-thread-exit-");
    const secret = join(root, "secret.key");
    files(root, {
      "loader.mjs": LOADER,
      "app.mjs": APP,
      "secret.key": "TOPSECRET\n",
      "policy.yaml": denyPolicy([secret]),
    });
    const r = await runWarden(
      [
        "run",
        "--json",
        "--no-strace",
        "--policy",
        "policy.yaml",
        "--",
        process.execPath,
        "--no-warnings",
        "app.mjs",
        secret,
      ],
      { cwd: root },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("TOPSECRET");
    expect(r.stderr).toMatch(/^loader refused EACCES$/m);
    expect(r.stderr).toMatch(/^worker refused EACCES$/m);
    const { events, summary } = eventsOf(r.stdout);
    expect(summary.lost).toBe(0);
    const blocks = events.filter((e) => e.verdict === "block" && e.target === secret);
    expect(blocks).toHaveLength(2);
    expect((summary.verdicts as Record<string, number>).block).toBe(2);
  }, 120_000);
});
