/** Helpers of the `warden run` tests: a temp folder with a policy, and the real CLI run async. */
import { spawn } from "node:child_process";
import { mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll } from "vitest";

export const CLI = resolve("dist/cli/main.js");

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A fresh folder (its real path: policies judge real paths). */
export function tempDir(prefix = "warden-trace-"): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

/** Write files (path relative to dir: text). */
export function files(dir: string, map: Record<string, string>): void {
  for (const [name, text] of Object.entries(map)) writeFileSync(join(dir, name), text);
}

/** Run `warden ...args` to its end (asynchronously: the test's own servers keep serving). */
export function runWarden(
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Ran> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`warden ${args.join(" ")} did not end in time\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 120_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** A policy: storage deny on `deny` (read and write), everything else allowed. */
export function denyPolicy(deny: readonly string[], extra = ""): string {
  return [
    'version: "1.0"',
    "storage:",
    "  deny:",
    ...deny.map((d) => `    - { uri: ${JSON.stringify(d)}, access: [read, write] }`),
    "  allow:",
    '    - { uri: "/**", access: [read, write] }',
    extra,
    "",
  ].join("\n");
}

/**
 * `warden run [--json] [--no-strace] [--audit FILE] --policy DIR/policy.yaml -- node app.js ARGS`
 * in `dir` (the layout most of these tests write).
 */
export function runApp(
  dir: string,
  o: {
    json?: boolean;
    strace?: false;
    audit?: string;
    args?: readonly string[];
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
  } = {},
): Promise<Ran> {
  return runWarden(
    [
      "run",
      ...(o.json === false ? [] : ["--json"]),
      ...(o.strace === false ? ["--no-strace"] : []),
      ...(o.audit !== undefined ? ["--audit", o.audit] : []),
      "--policy",
      join(dir, "policy.yaml"),
      "--",
      process.execPath,
      "app.js",
      ...(o.args ?? []),
    ],
    {
      cwd: dir,
      ...(o.env !== undefined ? { env: { ...process.env, ...o.env } } : {}),
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    },
  );
}

export interface AppEvent {
  function: string;
  target: string;
  verdict: string;
  rule_id?: string;
}

/**
 * Write `policy.yaml` and `app.js` (which prints `{"out": [...]}` on stderr) in `dir`, run it
 * traced (`--json --no-strace`), expect exit 0: what it printed and the events.
 */
export async function tracedApp(
  dir: string,
  policy: string,
  app: string,
  o: { args?: readonly string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<{ out: string[]; events: AppEvent[] }> {
  files(dir, { "policy.yaml": policy, "app.js": app });
  const r = await runApp(dir, { strace: false, ...o });
  if (r.code !== 0) throw new Error(`warden run exited ${r.code}\n${r.stderr}`);
  const line = r.stderr.split("\n").find((l) => l.startsWith('{"out"'));
  if (line === undefined) throw new Error(`the program printed no {"out"} line\n${r.stderr}`);
  const events = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as AppEvent & { summary?: unknown })
    .filter((e) => e.summary === undefined);
  return { out: (JSON.parse(line) as { out: string[] }).out, events };
}

/** A loopback HTTP sink: how many connections it accepted, the bodies and paths it received. */
export interface Sink {
  readonly port: number;
  connections: number;
  received: string;
  readonly paths: string[];
  close(): Promise<void>;
}

export async function httpSink(): Promise<Sink> {
  const server = createServer((req, res) => {
    s.paths.push(req.url ?? "");
    req.setEncoding("utf8");
    req.on("data", (d: string) => {
      s.received += d;
    });
    req.on("end", () => res.end("ok"));
  });
  server.on("connection", () => {
    s.connections++;
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const s: Sink = {
    port: (server.address() as AddressInfo).port,
    connections: 0,
    received: "",
    paths: [],
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  return s;
}

/** A sink for the tests of a file: started before them, closed after (`.current`). */
export function useHttpSink(): { readonly current: Sink } {
  const held = {} as { current: Sink };
  beforeAll(async () => {
    held.current = await httpSink();
  });
  afterAll(() => held.current.close());
  return held;
}

/** JavaScript for a traced reader (`fs` in scope): `wait(file)` blocks until `file` exists (at
 * most 30 s). */
export const WAIT_FOR_FILE = `const wait = (f) => { const end = Date.now() + 30000; while (!fs.existsSync(f) && Date.now() < end) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10); };`;

/**
 * JavaScript for a traced program (`fs` and `cp` in scope) that swaps a link behind a sibling:
 * point `s` at `good`, start `reader.js` (it judges a path through `s`, then writes `ready`),
 * then re-point `s` at `secret` and write `swapped` (at most 30 s after the start). The reader's
 * ChildProcess is `reader`.
 */
export const SWAP_BEHIND_READER = `fs.symlinkSync("good", "s");
const reader = cp.spawn(process.execPath, ["reader.js"], { stdio: ["ignore", "inherit", "inherit"] });
{
  const end = Date.now() + 30000;
  const poll = setInterval(() => {
    if (!fs.existsSync("ready") && Date.now() < end) return;
    clearInterval(poll);
    cp.execFileSync("ln", ["-sfn", "secret", "s"]);
    fs.writeFileSync("swapped", "");
  }, 10);
}`;
