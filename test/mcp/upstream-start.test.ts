// Starting and restarting upstreams (issue 18, 3): a missing or non-executable upstream command
// is a clear start-up error naming the config key, not a restart loop; a crash loop restarts
// with the backoff its log announces, each attempt once, each message once; a command that
// disappears at run time is not restarted in vain. Real `warden gateway` processes over stdio.
import { spawnSync } from "node:child_process";
import { chmodSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CLI, ROOT, tempDir, until, writeGatewayFiles } from "./helpers.js";
import { RawStdio } from "./raw-stdio.js";

const POLICY = `version: "1.0"
mcp:
  transport: { stdio: true }
  tools:
    allow: ["*"]
`;
const HOLD = join(ROOT, "test/mcp/fixtures/hold-server.mjs");

let raw: RawStdio | undefined;
afterEach(async () => {
  if (raw && raw.child.exitCode === null) raw.child.kill("SIGKILL");
  raw = undefined;
});

function config(dir: string, upstreams: string, extra = ""): string {
  return writeGatewayFiles(
    dir,
    `listen: stdio\npolicy: ./policy.yaml\n${extra}upstreams:\n${upstreams}`,
    POLICY,
  );
}

function runGateway(file: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, "gateway", "--config", file], {
    input: "",
    encoding: "utf8",
    timeout: 20_000,
  });
  return { status: r.status, stderr: r.stderr };
}

describe("upstream commands that cannot run", () => {
  it("a missing binary is a start-up error naming the config key (exit 2), not 20 restarts", () => {
    const dir = tempDir();
    const file = config(dir, "  - name: gone\n    command: /nonexistent/bin/mcp-server\n");
    const r = runGateway(file);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      `${file}: upstreams[0].command: upstream "gone" cannot be started: its command "/nonexistent/bin/mcp-server" does not exist`,
    );
    expect(r.stderr).not.toMatch(/restarting in/);
  });

  it("names every upstream that cannot start at once: not on PATH, not executable", () => {
    const dir = tempDir();
    const script = join(dir, "server.sh");
    writeFileSync(script, "#!/bin/sh\nexit 0\n");
    chmodSync(script, 0o644);
    const file = config(
      dir,
      `  - name: nopath\n    command: warden-no-such-mcp-server\n  - name: noexec\n    command: ./server.sh\n    cwd: ${JSON.stringify(dir)}\n`,
    );
    const r = runGateway(file);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      `upstreams[0].command: upstream "nopath" cannot be started: its command "warden-no-such-mcp-server" was not found on PATH`,
    );
    expect(r.stderr).toContain(
      `upstreams[1].command: upstream "noexec" cannot be started: its command "./server.sh" is not executable`,
    );
  });
});

describe("restart backoff", () => {
  it("restarts a crash-looping upstream as its log says: each attempt once, then gives up once", async () => {
    const dir = tempDir();
    const file = config(
      dir,
      `  - name: crash\n    command: ${JSON.stringify(process.execPath)}\n    args: ["-e", "process.exit(1)"]\n`,
      "restart: { initial_ms: 20, max_ms: 40, max_attempts: 3 }\n",
    );
    raw = new RawStdio(file);
    raw.write({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t" } },
    });
    await until(() => /gave up/.test(raw!.stderr), 30_000, "the gateway to give up");
    // A little longer: a doubled schedule would log again after the give-up.
    await raw.request(2, "ping");
    const lines = raw.stderr.split("\n").filter((l) => l.includes('upstream "crash"'));
    const attempts = lines.map((l) => l.match(/restarting in (\d+) ms \(attempt (\d) of 3\)/));
    expect(attempts.filter(Boolean).map((m) => [m![1], m![2]])).toEqual([
      ["20", "1"],
      ["40", "2"],
      ["40", "3"],
    ]);
    expect(lines.filter((l) => /gave up after 3 restart attempts/.test(l))).toHaveLength(1);
    // Each message names the upstream once.
    for (const l of lines) expect(l.match(/upstream "crash"/gi)).toHaveLength(1);
    await raw.close();
  }, 40_000);

  it("does not restart an upstream whose command disappeared; says so once", async () => {
    const dir = tempDir();
    const script = join(dir, "server.sh");
    writeFileSync(
      script,
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(HOLD)} ${JSON.stringify(join(dir, "rec.txt"))}\n`,
    );
    chmodSync(script, 0o755);
    const file = config(
      dir,
      `  - name: vanishing\n    command: ${JSON.stringify(script)}\n`,
      "restart: { initial_ms: 20, max_ms: 20, max_attempts: 5 }\n",
    );
    raw = new RawStdio(file);
    await raw.initialize(1, "t");
    rmSync(script);
    const a = await raw.request(2, "tools/call", { name: "hold", arguments: { n: "exit" } });
    expect((a.error as { code: number }).code).toBe(-32004);
    await until(() => /not restarting/.test(raw!.stderr), 15_000, "the gateway to stop trying");
    await raw.request(3, "ping");
    expect(raw.stderr).toMatch(
      /upstream "vanishing" could not start \(command ".*server\.sh"\): spawn .*ENOENT; not restarting/,
    );
    expect(raw.stderr.match(/not restarting/g)).toHaveLength(1);
    expect(raw.stderr).not.toMatch(/attempt 2 of 5/);
    await raw.close();
  }, 40_000);
});
