// An attacker hiding its calls from the record (real `warden run`, real node and python3
// processes): the CLI refused a whole report for one string over 64 KiB, so a program that
// touched one 70 KB path lost the batch (or spool record) around it: its blocked read of a
// secret, its /configure, its /shutdown, with `lost 0` for the Node agent (nothing said). A
// child started with a 70 KB argument was not even registered. Now an over-long string is cut
// (marked) and the rest of the report kept: every judged call is in the record.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { denyPolicy, files, runWarden, tempDir } from "./helpers.js";
import { eventsOf, PY } from "./python-helpers.js";

const NODE_APP = `
const fs = require("fs");
const { spawnSync } = require("child_process");
const [secret, ok] = process.argv.slice(2);
fs.readFileSync(ok);
try { fs.readFileSync(secret); } catch (e) { console.error("node read", e.code); }
try { fs.readFileSync(ok + "-" + "a".repeat(70000)); } catch (e) { console.error("node long", e.code); }
const child = "try { require('fs').readFileSync(process.argv[1]) } catch (e) { console.error('child read', e.code) } //" + "x".repeat(70000);
spawnSync(process.execPath, ["-e", child, secret], { stdio: "inherit" });
`;

const PY_APP = `
import sys
secret, ok = sys.argv[1], sys.argv[2]
open(ok).read()
try: open(secret).read()
except PermissionError as e: print("py read", e.errno, file=sys.stderr)
try: open(ok + "-" + "a" * 70000)
except OSError as e: print("py long", e.errno, file=sys.stderr)
`;

describe("warden run: a report with a string over 64 KiB", () => {
  it.each([
    ["node", () => process.execPath, "app.js"],
    ["python", () => PY, "app.py"],
  ] as const)(
    "keeps every call of the batch around it (%s)",
    async (kind, exe, app) => {
      if (exe() === undefined) return; // no python3 of 3.8 or later
      const root = tempDir("warden-hostile-report-");
      const secret = join(root, "secret.key");
      const ok = join(root, "ok.txt");
      files(root, {
        "app.js": NODE_APP,
        "app.py": PY_APP,
        "secret.key": "TOPSECRET\n",
        "ok.txt": "fine\n",
        "policy.yaml": denyPolicy([secret]),
      });
      const r = await runWarden(
        ["run", "--json", "--no-strace", "--policy", "policy.yaml", "--", exe()!, app, secret, ok],
        { cwd: root },
      );
      expect(r.code, r.stderr).toBe(0);
      const { events, summary } = eventsOf(r.stdout);
      expect(summary.lost).toBe(0);
      const secretBlocks = events.filter((e) => e.target === secret && e.verdict === "block");
      // The parent's blocked read (and the node child's, started with a 70 KB argument).
      expect(secretBlocks.length, r.stderr).toBe(kind === "node" ? 2 : 1);
      expect(events.some((e) => e.target === ok && e.verdict === "allow")).toBe(true);
      const long = events.find((e) => e.target.startsWith(`${ok}-aaa`));
      expect(long?.target).toMatch(/…\(\d+ more\)$/);
      if (kind === "node") {
        const child = (summary.processes as { argv: string[]; traced: boolean }[]).find(
          (p) => p.argv[1] === "-e",
        );
        expect(child?.traced).toBe(true);
      }
    },
    120_000,
  );
});
