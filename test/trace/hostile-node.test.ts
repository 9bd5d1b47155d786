// An attacker going around the Node agent with public APIs (real `warden run`, real node, no
// strace: the agent alone must hold). A worker thread runs the preload, which starts the agent
// only where the run's variables are in the worker's environment and the worker is not Warden's
// flusher: `new Worker(code, { env: {} })`, a worker started after `delete
// process.env.WARDEN_TRACE_URL` (with or without SHARE_ENV) and `workerData:
// { __wardenTraceFlusher: true }` each read a denied file. `fs.openAsBlob` (Node 19.8+) read it
// too: it was not hooked. Now each worker gets the agent (or is refused) and openAsBlob is judged.
// Network: UDP (dgram send and connect) was not judged at all, and a net.connect options object
// whose port getter answered the agent an allowed port and Node the real one connected where the
// policy forbids. Now datagrams are judged and Node gets the options the agent judged.
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

  it("judges UDP datagrams and connects with the options Node uses", async () => {
    const root = tempDir("warden-hostile-node-");
    files(root, {
      "net.js": `
const dgram = require("dgram"), net = require("net");
const udp = dgram.createSocket("udp4");
udp.on("message", (m) => console.error("UDP RECEIVED", String(m)));
udp.bind(0, "127.0.0.1", () => {
  const port = udp.address().port;
  const a = dgram.createSocket("udp4");
  a.send("exfil", port, "127.0.0.1", (e) => console.error("udp send", e ? e.code : "sent"));
  const b = dgram.createSocket("udp4");
  b.on("error", (e) => console.error("udp connect", e.code));
  b.connect(port, "127.0.0.1", () => b.send("exfil2", () => console.error("udp connect sent")));
  const tcp = net.createServer((s) => { console.error("TCP ACCEPTED"); s.destroy(); });
  tcp.listen(0, "127.0.0.1", () => {
    const real = tcp.address().port;
    // The agent's read (its bundle the caller) gets port 1, which the policy allows.
    const options = { host: "127.0.0.1", get port() {
      return (new Error().stack.split("\\n")[2] || "").includes("agent.bundle") ? 1 : real;
    } };
    net.connect(options).on("connect", () => console.error("TCP CONNECTED")).on("error", (e) => console.error("tcp", e.code));
  });
  setTimeout(() => process.exit(0), 1500);
});
`,
      "policy.yaml": [
        'version: "1.0"',
        "network:",
        "  allow:",
        "    - { host: 127.0.0.1, ports: [1] }",
        "",
      ].join("\n"),
    });
    const r = await runWarden(
      ["run", "--json", "--no-strace", "--policy", "policy.yaml", "--", process.execPath, "net.js"],
      { cwd: root },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("UDP RECEIVED");
    expect(r.stderr).not.toContain("TCP ACCEPTED");
    expect(r.stderr).toMatch(/^udp send ECONNREFUSED$/m);
    expect(r.stderr).toMatch(/^udp connect ECONNREFUSED$/m);
    expect(r.stderr).toMatch(/^tcp ECONNREFUSED$/m); // port 1, as judged: nothing listens there
    const { events } = eventsOf(r.stdout);
    const blocked = events.filter((e) => e.verdict === "block").map((e) => e.function);
    expect(blocked.sort()).toEqual(["js:dgram.connect", "js:dgram.send"]);
  }, 120_000);
});
