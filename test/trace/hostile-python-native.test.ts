// An attacker against the Python agent through calls whose C code opens or execs without an
// audit event of its own (real `warden run`, real python3, no strace: the agent alone must
// hold). `sqlite3.connect` on a denied path (a name, or a `file:` URI) opened it, read and wrote
// it through SQL; `os.posix_spawn(..., file_actions=[(POSIX_SPAWN_OPEN, 0, secret, ...)])` gave
// an allowed `cat` the denied file as its stdin; `_posixsubprocess.fork_exec` called directly
// ran a program the commands section denies, unjudged and unreported. Each is now judged
// (sqlite3.connect as a read and write of the file, the spawn's opens as opens, fork_exec as an
// exec) and refused, recorded as a block; subprocess.run is still judged once.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { files, runWarden, tempDir } from "./helpers.js";
import { eventsOf, PY } from "./python-helpers.js";

const SCRIPT = `
import os, sys, sqlite3, subprocess
SECRET, DB = sys.argv[1], sys.argv[2]

def t(name, f):
    try:
        print(name, "GOT", repr(f()))
    except OSError as e:
        print(name, "refused", e.errno)

t("sqlite", lambda: sqlite3.connect(SECRET).execute("select count(*) from sqlite_master").fetchall())
t("sqlite-uri", lambda: sqlite3.connect("file:" + SECRET + "?mode=ro", uri=True).execute("select 1").fetchall())
t("sqlite-allowed", lambda: sqlite3.connect(DB).execute("select 1").fetchall())
t("sqlite-memory", lambda: sqlite3.connect(":memory:").execute("select 1").fetchall())

def spawn_open():
    r, w = os.pipe()
    pid = os.posix_spawn("/bin/sh", ["sh", "-c", "read x; echo $x"], os.environ,
        file_actions=[(os.POSIX_SPAWN_OPEN, 0, SECRET, os.O_RDONLY, 0), (os.POSIX_SPAWN_DUP2, w, 1)])
    os.close(w); os.waitpid(pid, 0)
    return os.read(r, 100)
t("posix_spawn-open", spawn_open)

def fork_exec():
    import _posixsubprocess
    r, w = os.pipe()
    er, ew = os.pipe()
    args = ([b"cat", SECRET.encode()], [b"/bin/cat", b"/usr/bin/cat"], True, (w,), None, None,
            -1, -1, -1, w, -1, -1, er, ew, True, False, 0, None, None, None, -1, None, False)
    try:
        pid = _posixsubprocess.fork_exec(*args)
    except TypeError:
        return "unsupported"
    os.close(w); os.close(ew); os.waitpid(pid, 0)
    return os.read(r, 100)
t("fork_exec", fork_exec)
print("run", subprocess.run(["echo", "fine"], capture_output=True).stdout)
`;

describe.skipIf(PY === undefined)("warden run: Python calls that open or exec in C", () => {
  it("judges sqlite3.connect, posix_spawn's file_actions and a direct fork_exec", async () => {
    const root = tempDir("warden-hostile-pynative-");
    const secret = join(root, "secret", "creds.db");
    mkdirSync(join(root, "secret"));
    writeFileSync(secret, "TOPSECRET\n");
    files(root, {
      "attack.py": SCRIPT,
      "policy.yaml": [
        'version: "1.0"',
        "storage:",
        "  deny:",
        `    - { uri: ${JSON.stringify(join(root, "secret/**"))}, access: [read, write] }`,
        "  allow:",
        '    - { uri: "/**", access: [read, write] }',
        "commands:",
        "  default: allow",
        '  deny: ["cat"]',
        "",
      ].join("\n"),
    });
    const r = await runWarden(
      [
        "run",
        "--json",
        "--no-strace",
        "--policy",
        "policy.yaml",
        "--",
        PY!,
        "attack.py",
        secret,
        join(root, "ok.db"),
      ],
      { cwd: root },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = r.stderr;
    expect(out).not.toContain("TOPSECRET");
    for (const name of ["sqlite", "sqlite-uri", "posix_spawn-open"])
      expect(out).toMatch(new RegExp(`^${name} refused 13$`, "m"));
    expect(out).toMatch(/^sqlite-allowed GOT \[\(1,\)\]$/m);
    expect(out).toMatch(/^sqlite-memory GOT \[\(1,\)\]$/m);
    expect(out).toMatch(/^run GOT|^run b'fine\\n'$/m);
    const ver = /^fork_exec GOT 'unsupported'$/m.test(out);
    if (!ver) expect(out).toMatch(/^fork_exec refused 2$/m);
    const { events, summary } = eventsOf(r.stdout);
    expect(summary.lost).toBe(0);
    const blocks = events.filter((e) => e.verdict === "block");
    expect(
      blocks.filter((e) => e.function === "py:sqlite3.connect" && e.target === secret),
    ).toHaveLength(2);
    expect(blocks.some((e) => e.function === "py:open" && e.target === secret)).toBe(true);
    if (!ver)
      expect(
        blocks.some((e) => e.function === "py:subprocess.Popen" && e.target === "/bin/cat"),
      ).toBe(true);
    // subprocess.run: one judged exec of echo, not two.
    expect(
      events.filter(
        (e) => e.function === "py:subprocess.Popen" && String(e.target).endsWith("/echo"),
      ),
    ).toHaveLength(1);
  }, 120_000);
});
