// An attacker going under the hooks through Node's raw bindings (real `warden run`, real node,
// no strace: the agent alone must hold). `process.binding("fs")` handed the program the native
// fs functions the public `fs` calls after its hooks (it read the denied file through
// `readFileUtf8`), `process.binding("spawn_sync")` the native spawn, and a Node started with
// `--expose-internals` reached `internalBinding` through `require("internal/test/binding")`.
// Now each binding that reaches what the policy judges is refused (as an unknown module, the
// error naming Warden) and recorded as a block; bindings that reach nothing judged still load.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { denyPolicy, files, runWarden, tempDir } from "./helpers.js";
import { eventsOf } from "./python-helpers.js";

const APP = `
const secret = process.argv[2];
const t = (n, f) => {
  try { console.error(n, "GOT", String(f()).slice(0, 60)); } catch (e) { console.error(n, "refused", e.code); }
};
t("fs", () => {
  const b = process.binding("fs");
  return typeof b.readFileUtf8 === "function" ? b.readFileUtf8(secret, 0) : "binding";
});
t("spawn_sync", () => {
  const r = process.binding("spawn_sync").spawn({ file: "/bin/cat", args: ["cat", secret], envPairs: [],
    stdio: [{ type: "ignore" }, { type: "pipe", readable: true, writable: false }, { type: "ignore" }] });
  return r.output ? String(r.output[1]) : "spawned";
});
t("util", () => typeof process.binding("util").isDate);
t("internals", () => {
  const { internalBinding } = require("internal/test/binding");
  return internalBinding("fs").readFileUtf8(secret, 0);
});
`;

describe("warden run: Node's raw bindings", () => {
  it("refuses process.binding and internalBinding where they reach what the policy judges", async () => {
    const root = tempDir("warden-hostile-bindings-");
    const secret = join(root, "secret.key");
    files(root, {
      "app.js": APP,
      "secret.key": "TOPSECRET\n",
      "policy.yaml": denyPolicy([secret], 'commands:\n  default: allow\n  deny: ["cat"]'),
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
        "--no-deprecation",
        "--no-warnings",
        "--expose-internals",
        "app.js",
        secret,
      ],
      { cwd: root },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("TOPSECRET");
    for (const name of ["fs", "spawn_sync", "internals"])
      expect(r.stderr).toMatch(new RegExp(`^${name} refused ERR_INVALID_MODULE$`, "m"));
    expect(r.stderr).toMatch(/^util GOT function$/m);
    const { events, summary } = eventsOf(r.stdout);
    expect(summary.lost).toBe(0);
    expect(
      events
        .filter((e) => e.verdict === "block")
        .map((e) => `${e.function} ${e.target}`)
        .sort(),
    ).toEqual([
      "js:process.binding fs",
      "js:process.binding spawn_sync",
      "js:require.internal internal/test/binding",
    ]);
  }, 120_000);
});
