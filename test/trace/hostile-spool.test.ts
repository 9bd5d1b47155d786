// An attacker spoiling warden run's spool (real `warden run`, real node): a traced program
// finds the spool through /proc and appends a line that is not a record. warden run skipped it
// and only counted it, so the summary said nothing of events that may have been in it. Now the
// summary (text and --json) says how many spool records were lost.
import { describe, expect, it } from "vitest";
import { files, runWarden, tempDir } from "./helpers.js";
import { eventsOf } from "./python-helpers.js";

const APP = `
const fs = require("fs");
const dir = "/proc/" + process.ppid + "/fd";
let n = 0;
for (const f of fs.readdirSync(dir)) {
  let l = "";
  try { l = fs.readlinkSync(dir + "/" + f); } catch {}
  if (!l.includes("warden-spool-")) continue;
  const w = fs.openSync(dir + "/" + f, fs.constants.O_WRONLY | fs.constants.O_APPEND);
  fs.writeSync(w, "not a record\\n");
  fs.closeSync(w);
  n++;
}
console.error("spoiled", n);
`;

describe.skipIf(process.platform !== "linux")("warden run: a spoiled spool", () => {
  for (const json of [true, false])
    it(`says in the ${json ? "--json " : ""}summary that records were lost`, async () => {
      const root = tempDir("warden-hostile-spool-");
      files(root, { "app.js": APP, "policy.yaml": 'version: "1.0"\n' });
      const r = await runWarden(
        [
          "run",
          ...(json ? ["--json"] : []),
          "--no-strace",
          "--policy",
          "policy.yaml",
          "--",
          process.execPath,
          "app.js",
        ],
        { cwd: root },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^spoiled 1$/m);
      if (json) expect(eventsOf(r.stdout).summary.lost_records).toBe(1);
      else expect(r.stderr).toMatch(/LOST: 1 spool record\(s\) could not be read/);
    }, 120_000);
});
