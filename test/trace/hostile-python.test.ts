// An attacker against the Python agent (real `warden run`, real python3, no strace: the agent
// alone must hold): traced code hands the audit hook values whose Python methods lie about the
// data the C call reads. A bytes subclass whose decode() names another file, a str subclass
// whose startswith()/__radd__ turn a relative name into an allowed path, a path-like object whose
// __fspath__ answers the call and the hook differently (io.FileIO asks it again), an int subclass
// port whose __eq__/__hash__ hit a remembered allowed connect, a str subclass host whose
// __str__ names an allowed host: each made the hook judge one thing while the call did another
// (the secret was read, the connect went through). Now each is refused or judged as the call
// reads it, recorded as a block; pathlib paths and os.DirEntry still work. A subinterpreter
// (its audit hooks are its own; the agent's sitecustomize fails there: no threads) read the
// secret unhooked: now its creation is refused. A forked child's first thread took the ident
// (the stack) of the parent's flusher thread, which the agent took for its own and skipped:
// the thread read the secret unjudged; the agent's own work is now marked per thread.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { denyPolicy, files, runWarden, tempDir } from "./helpers.js";
import { eventsOf, PY } from "./python-helpers.js";

const SCRIPT = `
import io, os, pathlib, socket, sys
SECRET, OK = sys.argv[1], sys.argv[2]

def t(name, f):
    try:
        print(name, "GOT", repr(f()))
    except OSError as e:
        print(name, "refused", e.errno)

class LyingBytes(bytes):
    def decode(self, *a, **k): return OK
t("bytes-decode", lambda: open(LyingBytes(SECRET.encode())).read())

class LyingStr(str):
    def startswith(self, *a): return False
    def __radd__(self, other): return OK
os.chdir(os.path.dirname(SECRET))
t("str-radd", lambda: open(LyingStr(os.path.basename(SECRET))).read())
os.chdir("/")

class Flip:
    def __init__(self): self.n = 0
    def __fspath__(self):
        # The hook's frame is the agent's: show it the allowed file, the call the secret.
        self.n += 1
        return OK if sys._getframe(1).f_globals.get("__name__") == "_warden_trace" else SECRET
t("fspath-flip", lambda: io.FileIO(Flip()).read())

srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(8); port = srv.getsockname()[1]
def connect(name, addr):
    s = socket.socket(); s.settimeout(5)
    try:
        s.connect(addr); print(name, "CONNECTED")
    except OSError as e:
        print(name, "refused", e.errno)
    finally:
        s.close()
connect("allowed-port", ("127.0.0.1", 1))  # remembered: (connect, 127.0.0.1, 1) allowed
class AnyPort(int):
    def __eq__(self, o): return True
    def __hash__(self): return hash(1)
connect("port-eq", ("127.0.0.1", AnyPort(port)))
class Host(str):
    def __str__(self): return "allowed.example"
connect("host-str", (Host("127.0.0.1"), port))

# What well-behaved code passes still works.
print("pathlib", pathlib.Path(OK).read_text().strip(), io.FileIO(pathlib.Path(OK)).read().strip().decode())
print("direntry", [open(e).read().strip() for e in os.scandir(os.path.dirname(OK)) if e.name == "ok"])
`;

describe.skipIf(PY === undefined)("warden run: a Python program lying to the agent", () => {
  it("judges the path, host and port the call reads, or refuses it", async () => {
    const root = tempDir("warden-hostile-py-");
    mkdirSync(join(root, "secret"));
    mkdirSync(join(root, "pub"));
    const secret = join(root, "secret", "key");
    const ok = join(root, "pub", "ok");
    writeFileSync(secret, "TOPSECRET\n");
    writeFileSync(ok, "fine\n");
    files(root, {
      "lie.py": SCRIPT,
      "policy.yaml": [
        'version: "1.0"',
        "storage:",
        "  deny:",
        `    - { uri: ${JSON.stringify(`${root}/secret/**`)}, access: [read, write] }`,
        "  allow:",
        '    - { uri: "/**", access: [read, write] }',
        "network:",
        "  allow:",
        "    - { host: 127.0.0.1, ports: [1] }",
        "    - { host: allowed.example }",
        "",
      ].join("\n"),
    });
    const r = await runWarden(
      ["run", "--json", "--no-strace", "--policy", "policy.yaml", "--", PY!, "lie.py", secret, ok],
      { cwd: root },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("TOPSECRET");
    expect(r.stderr).not.toContain("CONNECTED");
    for (const name of ["bytes-decode", "str-radd", "fspath-flip"])
      expect(r.stderr).toMatch(new RegExp(`^${name} refused 13$`, "m"));
    expect(r.stderr).toMatch(/^allowed-port refused 111$/m); // port 1: nothing listens
    expect(r.stderr).toMatch(/^port-eq refused 111$/m);
    expect(r.stderr).toMatch(/^host-str refused 111$/m);
    expect(r.stderr).toMatch(/^pathlib fine fine$/m);
    expect(r.stderr).toMatch(/^direntry \['fine'\]$/m);
    const { events } = eventsOf(r.stdout);
    const blocks = events.filter((e) => e.verdict === "block");
    // The secret judged as itself (the bytes and str lies), the flip refused as unknown.
    expect(blocks.filter((e) => e.target === secret).length).toBeGreaterThanOrEqual(2);
    expect(blocks.some((e) => String(e.reason).includes("a path given as a Flip object"))).toBe(
      true,
    );
    // Both lying connects judged as 127.0.0.1 on the listening port (not the remembered port 1
    // nor allowed.example).
    const connects = blocks.filter((e) => e.function === "py:socket.connect");
    expect(connects.map((e) => e.target)).toEqual(["127.0.0.1", "127.0.0.1"]);
    expect(events.some((e) => e.target === "allowed.example")).toBe(false);
  }, 120_000);

  it("refuses a subinterpreter, which would run without the audit hook", async () => {
    const root = tempDir("warden-hostile-py-");
    const secret = join(root, "secret.key");
    writeFileSync(secret, "TOPSECRET\n");
    files(root, {
      "sub.py": [
        "import sys",
        "try:",
        "    import _interpreters as m",
        "except ImportError:",
        "    try:",
        "        import _xxsubinterpreters as m",
        "    except ImportError:",
        "        print('no subinterpreters'); sys.exit(0)",
        "code = 'print(\"SUB\", open(%r).read().strip())' % sys.argv[1]",
        "try:",
        "    i = m.create()",
        "except Exception as e:",
        "    print('refused', type(e).__name__); sys.exit(0)",
        "(getattr(m, 'run_string', None) or m.exec)(i, code)",
        "",
      ].join("\n"),
      "policy.yaml": denyPolicy([secret]),
    });
    const r = await runWarden(
      ["run", "--json", "--no-strace", "--policy", "policy.yaml", "--", PY!, "sub.py", secret],
      { cwd: root },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("TOPSECRET");
    if (r.stderr.includes("no subinterpreters")) return;
    expect(r.stderr).toMatch(/^refused RuntimeError$/m);
    const { events } = eventsOf(r.stdout);
    expect(
      events.some(
        (e) => e.verdict === "block" && e.function === "py:cpython.PyInterpreterState_New",
      ),
    ).toBe(true);
  }, 120_000);

  it("judges a forked child's first thread (it gets the ident of the parent's flusher)", async () => {
    const root = tempDir("warden-hostile-py-");
    const secret = join(root, "secret.key");
    writeFileSync(secret, "TOPSECRET\n");
    files(root, {
      "fork.py": [
        "import os, sys, threading, time",
        "open(__file__).read()  # an event: the flusher thread is running",
        "pid = os.fork()",
        "if pid == 0:",
        "    out = []",
        "    def read():",
        "        try: out.append('GOT ' + open(sys.argv[1]).read().strip())",
        "        except OSError as e: out.append('refused %d' % e.errno)",
        "    t = threading.Thread(target=read); t.start(); t.join()",
        "    print('child thread', out[0], file=sys.stderr, flush=True)",
        "    os._exit(0)",
        "os.waitpid(pid, 0)",
        "",
      ].join("\n"),
      "policy.yaml": denyPolicy([secret]),
    });
    const r = await runWarden(
      ["run", "--json", "--no-strace", "--policy", "policy.yaml", "--", PY!, "fork.py", secret],
      { cwd: root },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("TOPSECRET");
    expect(r.stderr).toMatch(/^child thread refused 13$/m);
    const { events } = eventsOf(r.stdout);
    expect(events.some((e) => e.verdict === "block" && e.target === secret)).toBe(true);
  }, 120_000);
});
