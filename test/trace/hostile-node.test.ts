// An attacker going around the Node agent with public APIs (real `warden run`, real node, no
// strace: the agent alone must hold). A worker thread runs the preload, which starts the agent
// only where the run's variables are in the worker's environment and the worker is not Warden's
// flusher: `new Worker(code, { env: {} })`, a worker started after `delete
// process.env.WARDEN_TRACE_URL` (with or without SHARE_ENV) and `workerData:
// { __wardenTraceFlusher: true }` each read a denied file. `fs.openAsBlob` (Node 19.8+) read it
// too: it was not hooked. Now each worker gets the agent (or is refused) and openAsBlob is judged.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { denyPolicy, files, runWarden, tempDir } from "./helpers.js";
import { eventsOf } from "./python-helpers.js";

const APP = `
const fs = require("fs");
const wt = require("worker_threads");
const secret = process.argv[2];
const code = "const fs = require('fs'); let r; try { r = 'GOT ' + fs.readFileSync(" + JSON.stringify(secret) +
  ", 'utf8').trim() } catch (e) { r = 'refused ' + e.code } require('worker_threads').parentPort.postMessage(r)";
const run = (name, opts) => new Promise((done) => {
  let w;
  try { w = new wt.Worker(code, opts); } catch (e) { console.error(name, "not started", e.code); return done(); }
  w.on("message", (m) => console.error(name, m));
  w.on("error", (e) => { console.error(name, "error", e.message); done(); });
  w.on("exit", done);
});
(async () => {
  await run("env-empty", { eval: true, env: {} });
  await run("mark", { eval: true, workerData: { __wardenTraceFlusher: true } });
  const saved = { ...process.env };
  for (const k of Object.keys(process.env)) if (k.startsWith("WARDEN_TRACE")) delete process.env[k];
  await run("env-deleted", { eval: true });
  await run("share-env-deleted", { eval: true, env: wt.SHARE_ENV });
  Object.assign(process.env, saved);
  await run("plain", { eval: true, workerData: { x: 1 } });
  try {
    console.error("blob GOT", (await (await fs.openAsBlob(secret)).text()).trim());
  } catch (e) {
    console.error("blob refused", e.code);
  }
})();
`;

describe("warden run: a Node program going around the agent with public APIs", () => {
  it("starts every worker with the agent and judges fs.openAsBlob", async () => {
    const root = tempDir("warden-hostile-node-");
    const secret = join(root, "secret.key");
    files(root, {
      "app.js": APP,
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
        "app.js",
        secret,
      ],
      { cwd: root },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("TOPSECRET");
    for (const name of ["env-empty", "env-deleted", "share-env-deleted", "plain"])
      expect(r.stderr).toMatch(new RegExp(`^${name} refused EACCES$`, "m"));
    expect(r.stderr).toMatch(/^mark not started ENOENT$/m);
    expect(r.stderr).toMatch(/^blob refused EACCES$/m);
    const { events, summary } = eventsOf(r.stdout);
    expect(summary.lost).toBe(0);
    const blocks = events.filter((e) => e.verdict === "block");
    // Four workers' reads and the blob, each judged as the secret; the forged mark refused.
    expect(
      blocks
        .filter((e) => e.target === secret)
        .map((e) => e.function)
        .sort(),
    ).toEqual([
      "js:fs.openAsBlob",
      "js:fs.readFileSync",
      "js:fs.readFileSync",
      "js:fs.readFileSync",
      "js:fs.readFileSync",
    ]);
    expect(
      blocks.some(
        (e) =>
          e.function === "js:worker_threads.Worker" &&
          String(e.reason).includes("__wardenTraceFlusher"),
      ),
    ).toBe(true);
  }, 120_000);
});
