// An attacker loading a native library from a denied path (real `warden run`, real node and
// python3, no strace: the agents alone must hold). `process.dlopen(module, "/denied/x.node")`
// and `ctypes.CDLL("/denied/x.so")` were reported (display) and the loader read (and would have
// run) the denied file: on a file that is no library, its error told the program about it. Now
// a library named by path is judged as a read of that file, refused (EACCES) where the storage
// section denies it, and recorded as a block; a bare name the loader searches for is not a path.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { denyPolicy, files, runWarden, tempDir } from "./helpers.js";
import { eventsOf, PY } from "./python-helpers.js";

describe("warden run: a native library loaded from a denied path", () => {
  const setup = () => {
    const root = tempDir("warden-hostile-dlopen-");
    mkdirSync(join(root, "secret"));
    const lib = join(root, "secret", "lib.node");
    writeFileSync(lib, "not a library\n");
    files(root, { "policy.yaml": denyPolicy([join(root, "secret/**")]) });
    return { root, lib };
  };
  const run = (root: string, cmd: readonly string[]) =>
    runWarden(["run", "--json", "--no-strace", "--policy", "policy.yaml", "--", ...cmd], {
      cwd: root,
    });

  it("node: process.dlopen of a path is a read of that file", async () => {
    const { root, lib } = setup();
    files(root, {
      "app.js": `
try { process.dlopen({ exports: {} }, process.argv[2]); console.error("dlopen loaded"); }
catch (e) { console.error("dlopen refused", e.code); }
`,
    });
    const r = await run(root, [process.execPath, "app.js", lib]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^dlopen refused EACCES$/m);
    const { events } = eventsOf(r.stdout);
    expect(
      events.some(
        (e) => e.verdict === "block" && e.function === "js:process.dlopen" && e.target === lib,
      ),
    ).toBe(true);
  }, 120_000);

  it.skipIf(PY === undefined)(
    "python: ctypes.CDLL of a path is a read of that file",
    async () => {
      const { root, lib } = setup();
      files(root, {
        "app.py": `
import ctypes, sys
try:
    ctypes.CDLL(sys.argv[1]); print("cdll loaded")
except OSError as e:
    print("cdll refused", e.errno)
print("libc", ctypes.CDLL("libc.so.6") is not None)
`,
      });
      const r = await run(root, [PY!, "app.py", lib]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^cdll refused 13$/m);
      expect(r.stderr).toMatch(/^libc True$/m);
      const { events } = eventsOf(r.stdout);
      expect(
        events.some(
          (e) => e.verdict === "block" && e.function === "py:ctypes.dlopen" && e.target === lib,
        ),
      ).toBe(true);
    },
    120_000,
  );
});
