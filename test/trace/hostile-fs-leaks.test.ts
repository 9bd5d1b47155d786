// An attacker learning about a denied file through fs calls that were not judged (real `warden
// run`, real node, no strace): `fs.realpath` (sync, callback, promises, and `.native`) told
// where a denied path led and whether it existed (ENOENT for a missing name, the path for a
// present one), `fs.watch` whether it existed, and `fs.watchFile`'s listener gave its stat (size,
// times) by polling. Each is now judged as a read of the path, as stat is: a denied path gives
// EACCES whether it exists or not, and the block is recorded.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { denyPolicy, files, runWarden, tempDir } from "./helpers.js";
import { eventsOf } from "./python-helpers.js";

const APP = `
const fs = require("fs");
const [secret, missing] = process.argv.slice(2);
const out = (name, what) => console.error(name, what);
const sync = (name, f) => { try { out(name, "LEAK " + String(f())); } catch (e) { out(name, "refused " + e.code); } };
(async () => {
  for (const [tag, p] of [["present", secret], ["missing", missing]]) {
    sync("realpathSync " + tag, () => fs.realpathSync(p));
    sync("realpathSync.native " + tag, () => fs.realpathSync.native(p));
    sync("watch " + tag, () => { const w = fs.watch(p); w.close(); return "watched"; });
    sync("watchFile " + tag, () => { fs.watchFile(p, { interval: 5 }, (c) => out("watchFile stat", "LEAK " + c.size)); return "watching"; });
    await new Promise((done) => fs.realpath(p, (e, r) => { out("realpath " + tag, e ? "refused " + e.code : "LEAK " + r); done(); }));
    await new Promise((done) => fs.realpath.native(p, (e, r) => { out("realpath.native " + tag, e ? "refused " + e.code : "LEAK " + r); done(); }));
    await fs.promises.realpath(p).then((r) => out("promises.realpath " + tag, "LEAK " + r), (e) => out("promises.realpath " + tag, "refused " + e.code));
    try {
      const ac = new AbortController();
      const it = fs.promises.watch(p, { signal: ac.signal });
      setTimeout(() => ac.abort(), 20);
      for await (const _ of it) break;
      out("promises.watch " + tag, "LEAK watched");
    } catch (e) {
      out("promises.watch " + tag, e.name === "AbortError" ? "LEAK watched" : "refused " + e.code);
    }
  }
  await new Promise((r) => setTimeout(r, 100));
  fs.unwatchFile(secret);
  fs.unwatchFile(missing);
  // An allowed file still answers.
  out("allowed", fs.realpathSync(process.argv[4]) === process.argv[4] ? "ok" : "wrong");
})();
`;

const CALLS = [
  "realpathSync",
  "realpathSync.native",
  "watch",
  "watchFile",
  "realpath",
  "realpath.native",
  "promises.realpath",
  "promises.watch",
];

describe("warden run: fs calls that tell whether a denied file exists", () => {
  it("judges realpath, realpath.native, watch and watchFile as reads", async () => {
    const root = tempDir("warden-hostile-fs-");
    const secret = join(root, "secret", "id_rsa");
    const missing = join(root, "secret", "not-there");
    const allowed = join(root, "app.js");
    files(root, { "app.js": APP, "policy.yaml": denyPolicy([join(root, "secret/**")]) });
    const { mkdirSync, writeFileSync } = await import("node:fs");
    mkdirSync(join(root, "secret"));
    writeFileSync(secret, "TOPSECRET\n");
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
        missing,
        allowed,
      ],
      { cwd: root },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("LEAK");
    for (const call of CALLS)
      for (const tag of ["present", "missing"])
        expect(r.stderr).toMatch(
          new RegExp(`^${call.replace(".", "\\.")} ${tag} refused EACCES$`, "m"),
        );
    expect(r.stderr).toMatch(/^allowed ok$/m);
    const { events, summary } = eventsOf(r.stdout);
    expect(summary.lost).toBe(0);
    const blocked = new Set(
      events.filter((e) => e.verdict === "block").map((e) => `${e.function} ${e.target}`),
    );
    for (const p of [secret, missing])
      for (const fn of [
        "fs.realpathSync",
        "fs.realpathSync.native",
        "fs.watch",
        "fs.watchFile",
        "fs.realpath",
        "fs.realpath.native",
        "fs.promises.realpath",
        "fs.promises.watch",
      ])
        expect(blocked.has(`js:${fn} ${p}`), `${fn} ${p}`).toBe(true);
  }, 120_000);
});
