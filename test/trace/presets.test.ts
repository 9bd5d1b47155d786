import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/policy/index.js";
import { judgeTraceAction, type TraceAction } from "../../src/trace/policy/actions.js";
import {
  PRESET_NAMES,
  presetPolicy,
  printPreset,
  selectPreset,
} from "../../src/trace/policy/presets.js";

const HOME = "/home/u";

function preset(name: string) {
  const p = presetPolicy(name)!;
  const r = compilePolicy(p.text, { file: p.file, home: HOME });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r;
}

describe("presets", () => {
  it("each is a malwi policy that compiles with no warning", () => {
    expect(PRESET_NAMES).toEqual(["npm-install", "pypi-install", "air-gap"]);
    for (const n of PRESET_NAMES) {
      const r = preset(n);
      expect(r.policy.dialect, n).toBe("malwi");
      expect(r.warnings, n).toEqual([]);
      expect(printPreset(n)).toMatch(/^version: 1\n/);
    }
    expect(printPreset("nope")).toBeUndefined();
    expect(presetPolicy("nope")).toBeUndefined();
  });

  it("selectPreset chooses from the command as malwi does", () => {
    const cases: [string[], string | undefined][] = [
      [["npm", "install"], "npm-install"],
      [["npm", "ci", "--offline"], "npm-install"],
      [["/usr/local/bin/npm", "add", "left-pad"], "npm-install"],
      [["npm", "i"], "npm-install"],
      [["sudo", "npm", "install"], "npm-install"],
      [["pnpm", "install"], "npm-install"],
      [["pip", "install", "requests"], "pypi-install"],
      [["pip3.12", "install", "-r", "req.txt"], "pypi-install"],
      [["python3", "-m", "pip", "install", "x"], "pypi-install"],
      [["uv", "pip", "install", "x"], "pypi-install"],
      [["uv", "sync"], "pypi-install"],
      [["npm", "run", "build"], undefined],
      [["npm", "test"], undefined],
      [["node", "install.js"], undefined],
      [["install", "npm"], undefined],
      [["pip", "list"], undefined],
      [[], undefined],
    ];
    for (const [argv, want] of cases) expect(selectPreset(argv), argv.join(" ")).toBe(want);
  });

  const j = (name: string, a: TraceAction) => judgeTraceAction(preset(name).policy, a);

  it("npm-install: a malicious postinstall's steps are stopped, npm's own work is not", () => {
    const n = (a: TraceAction) => j("npm-install", a).verdict;
    expect(n({ kind: "file", path: "/home/u/.ssh/id_rsa", op: "read" })).toBe("block");
    expect(n({ kind: "file", path: "/home/u/.bashrc", op: "write" })).toBe("block");
    expect(n({ kind: "file", path: "/home/u/.aws/credentials", op: "read" })).toBe("block");
    expect(n({ kind: "file", path: "/home/u/.npmrc", op: "read" })).toBe("allow");
    expect(n({ kind: "file", path: "/home/u/.npmrc", op: "write" })).toBe("block");
    expect(n({ kind: "file", path: "/work/p/node_modules/x/index.js", op: "write" })).toBe("allow");
    expect(n({ kind: "http", url: "http://127.0.0.1:45678/exfil", method: "POST" })).toBe("block");
    expect(n({ kind: "connect", host: "127.0.0.1", port: 45678, protocol: "tcp" })).toBe("block");
    expect(n({ kind: "http", url: "https://registry.npmjs.org/left-pad" })).toBe("allow");
    expect(n({ kind: "connect", host: "registry.npmjs.org", port: 443, protocol: "tcp" })).toBe(
      "allow",
    );
    expect(n({ kind: "exec", path: "/bin/sh", argv: ["sh", "-c", "node install.js"] })).toBe(
      "allow",
    );
    expect(n({ kind: "exec", path: "/usr/bin/curl", argv: ["curl", "http://x"] })).toBe("block");
    expect(
      n({ kind: "exec", path: "/usr/bin/python3", argv: ["python3", "-c", "import os"] }),
    ).toBe("block");
    expect(
      n({
        kind: "exec",
        path: "/usr/bin/python3",
        argv: [
          "python3",
          "/usr/lib/node_modules/npm/node_modules/node-gyp/gyp/gyp_main.py",
          "-f",
          "make",
        ],
      }),
    ).toBe("allow");
    expect(n({ kind: "env", key: "GITHUB_TOKEN" })).toBe("block");
    expect(n({ kind: "env", key: "PATH" })).toBe("allow");
    expect(n({ kind: "function", runtime: "nodejs", name: "vm.runInContext" })).toBe("warn");
    // eval is left alone: naming it would turn install scripts' direct evals into indirect ones
    expect(n({ kind: "function", runtime: "nodejs", name: "eval" })).not.toBe("warn");
    expect(j("npm-install", { kind: "exec", path: "/usr/bin/curl", argv: ["curl"] }).rule).toMatch(
      /^preset:npm-install:\d+$/,
    );
  });

  it("pypi-install: python -c is denied except the build backends", () => {
    const p = (a: TraceAction) => j("pypi-install", a).verdict;
    const py = (...args: string[]) =>
      p({ kind: "exec", path: "/usr/bin/python3", argv: ["python3", ...args] });
    expect(py("-c", "import socket; socket.create_connection(('evil', 80))")).toBe("block");
    expect(py("-c", "from setuptools.build_meta import __legacy__ as backend")).toBe("allow");
    expect(py("/venv/lib/python3.12/site-packages/pip/__pip-runner__.py", "install")).toBe("allow");
    expect(p({ kind: "http", url: "https://files.pythonhosted.org/packages/x.whl" })).toBe("allow");
    expect(p({ kind: "http", url: "https://evil.example/x" })).toBe("block");
    expect(p({ kind: "file", path: "/home/u/.ssh/id_ed25519", op: "read" })).toBe("block");
    expect(p({ kind: "function", runtime: "python", name: "os.system" })).toBe("warn");
  });

  it("air-gap: no network at all; other programs run", () => {
    const a = (x: TraceAction) => j("air-gap", x).verdict;
    expect(a({ kind: "http", url: "https://pypi.org/simple/" })).toBe("block");
    expect(a({ kind: "connect", host: "127.0.0.1", port: 8080, protocol: "tcp" })).toBe("block");
    expect(a({ kind: "connect", host: "::1", port: 22, protocol: "tcp" })).toBe("block");
    expect(a({ kind: "exec", path: "/usr/bin/dig", argv: ["dig", "x.example"] })).toBe("block");
    expect(a({ kind: "exec", path: "/usr/bin/ls", argv: ["ls", "-la"] })).toBe("allow");
    expect(a({ kind: "env", key: "AWS_SECRET_ACCESS_KEY" })).toBe("block");
    expect(a({ kind: "env", key: "HOME" })).toBe("allow");
  });
});
