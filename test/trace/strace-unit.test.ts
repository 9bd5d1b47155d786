// The strace layer's parts on strace's own line shapes (6.1, `-f -ttt -xx -y`): the parser
// (unfinished/resumed lines, relative opens, hostile names), the noise filter, and the
// correlator's rules for what an agent's report explains.
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/policy/compile.js";
import type { TraceEvent } from "../../src/trace/protocol.js";
import { Correlator } from "../../src/trace/strace/correlate.js";
import { StraceJudge } from "../../src/trace/strace/judge.js";
import { isNoise } from "../../src/trace/strace/noise.js";
import { StraceParser, type StraceRecord } from "../../src/trace/strace/parse.js";

/** A string as `-xx` prints it. */
const hx = (s: string) => `"${Buffer.from(s).toString("hex").replace(/../g, "\\x$&")}"`;
const fd = (s: string) => `<${hx(s).slice(1, -1)}>`;

function parse(lines: string[]): { recs: StraceRecord[]; skipped: number } {
  const p = new StraceParser();
  const recs: StraceRecord[] = [];
  for (const l of lines) {
    const r = p.line(l);
    if (r !== undefined) recs.push(r);
  }
  return { recs, skipped: p.skipped };
}

describe("strace output parser", () => {
  it("joins an unfinished exec with its resumption across another task's lines", () => {
    const { recs } = parse([
      "100 1796643019.312691 vfork( <unfinished ...>",
      `101 1796643019.312882 execve(${hx("/usr/bin/ls")}, [${hx("ls")}, ${hx("-l")}], 0x561d /* 39 vars */ <unfinished ...>`,
      "100 1796643019.314114 <... vfork resumed>) = 101",
      "101 1796643019.314176 <... execve resumed>) = 0",
      "101 1796643019.4 +++ exited with 0 +++",
    ]);
    expect(recs).toEqual([
      { kind: "spawn", tid: 100, wallNs: 1796643019312691000n, child: 101, thread: false },
      {
        kind: "exec",
        tid: 101,
        wallNs: 1796643019312882000n,
        syscall: "execve",
        path: "/usr/bin/ls",
        argv: ["ls", "-l"],
        ok: true,
      },
      { kind: "exit", tid: 101, wallNs: 1796643019400000000n },
    ]);
  });

  it("reads opens: relative paths against the directory fd, the opened file, flags, errors", () => {
    const { recs } = parse([
      `7 1.000001 openat(AT_FDCWD${fd("/home/u/p")}, ${hx("src/a.ts")}, O_RDONLY|O_CLOEXEC) = 3${fd("/home/u/p/src/a.ts")}`,
      `7 1.000002 openat(AT_FDCWD${fd("/tmp")}, ${hx("/home/u/.ssh/id_rsa")}, O_RDONLY) = -1 ENOENT (No such file or directory)`,
      `7 1.000003 openat(5${fd("/etc")}, ${hx("x")}, O_WRONLY|O_CREAT|O_TRUNC, 0666) = 4${fd("/etc/x")}`,
      `7 1.000004 open(${hx("/tmp/y")}, O_RDONLY) = 3${fd("/tmp/y")}`,
      `7 1.000005 openat2(AT_FDCWD${fd("/")}, ${hx("z")}, {flags=O_RDWR, resolve=0}, 24) = 3${fd("/z")}`,
    ]);
    expect(recs).toMatchObject([
      {
        kind: "open",
        path: "/home/u/p/src/a.ts",
        opened: "/home/u/p/src/a.ts",
        write: false,
        ok: true,
      },
      { kind: "open", path: "/home/u/.ssh/id_rsa", write: false, ok: false, error: "ENOENT" },
      {
        kind: "open",
        path: "/etc/x",
        opened: "/etc/x",
        flags: "O_WRONLY|O_CREAT|O_TRUNC",
        write: true,
      },
      { kind: "open", syscall: "open", path: "/tmp/y" },
      { kind: "open", syscall: "openat2", path: "/z", flags: "O_RDWR", write: true },
    ]);
  });

  it("reads IPv4 and IPv6 connects and threads vs processes", () => {
    const { recs } = parse([
      `9 2.5 connect(20${fd("socket:[1]")}, {sa_family=AF_INET, sin_port=htons(4444), sin_addr=inet_addr(${hx("10.0.0.1")})}, 16) = -1 EINPROGRESS (Operation now in progress)`,
      `9 2.6 connect(21${fd("socket:[2]")}, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, ${hx("::1")}, &sin6_addr), sin6_scope_id=0}, 28) = -1 ECONNREFUSED (Connection refused)`,
      `9 2.7 connect(3${fd("socket:[3]")}, {sa_family=AF_UNIX, sun_path=${hx("/run/nscd")}}, 110) = 0`,
      "9 2.8 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, child_tid=0x7f} => {parent_tid=[12]}, 88) = 12",
      "9 2.9 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 13",
    ]);
    expect(recs).toMatchObject([
      { kind: "connect", family: "AF_INET", ip: "10.0.0.1", port: 4444, ok: true },
      {
        kind: "connect",
        family: "AF_INET6",
        ip: "::1",
        port: 443,
        ok: false,
        error: "ECONNREFUSED",
      },
      { kind: "spawn", child: 12, thread: true },
      { kind: "spawn", child: 13, thread: false },
    ]);
  });

  it("a hostile file name is read exactly and cannot fake a syscall or a line", () => {
    const evil = '/tmp/a") = 0\n7 1.0 execve("/bin/evil", [], 0) = 0 <unfinished ...>\u001b[31m';
    const { recs, skipped } = parse([
      `7 3.0 openat(AT_FDCWD${fd("/")}, ${hx(evil)}, O_RDONLY) = 3${fd(evil)}`,
      // A resumption nothing started, and a line strace never prints: skipped, not guessed.
      "7 3.1 <... execve resumed>) = 0",
      "garbage",
    ]);
    expect(recs).toEqual([
      expect.objectContaining({ kind: "open", path: evil, opened: evil, ok: true }),
    ]);
    expect(skipped).toBe(2);
  });
});

describe("the noise filter", () => {
  it("exempts reads of loader, locale and resolver files, never secrets or system writes", () => {
    expect(isNoise("/etc/ld.so.cache", false)).toBe(true);
    expect(isNoise("/lib/x86_64-linux-gnu/libc.so.6", false)).toBe(true);
    expect(isNoise("/usr/share/zoneinfo/UTC", false)).toBe(true);
    expect(isNoise("/proc/self/status", false)).toBe(true);
    expect(isNoise("/dev/null", true)).toBe(true);
    expect(isNoise("/usr/lib/x86_64-linux-gnu/libc.so.6", true)).toBe(false);
    expect(isNoise("/etc/shadow", false)).toBe(false);
    expect(isNoise("/home/u/.ssh/id_rsa", false)).toBe(false);
    expect(isNoise("/etc/ld.so.cache.evil", false)).toBe(false);
  });
});

describe("Warden's own reads", () => {
  it("are not checked (the hand-over as the kernel names it once removed, Warden's code); writes there are", () => {
    const p = compilePolicy(
      'version: "1.0"\nstorage:\n  deny:\n    - { uri: "/w/**", access: [read, write] }\n',
    );
    if (!p.ok) throw new Error("policy");
    const judge = new StraceJudge(p.policy, ["storage"], 5555, [
      "/w/run/configure.json",
      "/w/dist",
    ]);
    const open = (path: string, write = false, opened?: string) =>
      judge.check({
        kind: "open",
        tid: 1,
        wallNs: 0n,
        syscall: "openat",
        path,
        ...(opened !== undefined ? { opened } : {}),
        flags: write ? "O_WRONLY" : "O_RDONLY",
        write,
        ok: true,
      });
    expect(open("/proc/9/fd/5", false, "/w/run/configure.json (deleted)")).toBeUndefined();
    expect(open("/w/dist/trace/agent/preload.cjs")).toBeUndefined();
    expect(open("/w/dist/package.json")).toBeUndefined();
    // Not Warden's: a neighbour, a name that only starts the same, a write.
    expect(open("/w/run/other.json")?.verdict).toBe("block");
    expect(open("/w/distant/x")?.verdict).toBe("block");
    expect(open("/w/dist/trace/agent/preload.cjs", true)?.verdict).toBe("block");
  });
});

describe("correlation", () => {
  const policy = compilePolicy(
    [
      'version: "1.0"',
      "storage:",
      "  deny:",
      '    - { uri: "/secret/**", access: [read, write] }',
      "  allow:",
      '    - { uri: "/**", access: [read, write] }',
      "",
    ].join("\n"),
  );
  if (!policy.ok) throw new Error("policy");
  const t0 = process.hrtime.bigint();
  const wall = () => BigInt(Date.now()) * 1_000_000n;
  const procs = new Map<number, { ppid: number; path: string; traced: boolean; done?: boolean }>();

  function setup() {
    procs.clear();
    const out: TraceEvent[] = [];
    const c = new Correlator(
      new StraceJudge(policy.ok ? policy.policy : (undefined as never), ["storage"], 5555),
      { procs },
      t0,
      10,
      (e) => out.push(e),
    );
    return { c, out };
  }
  const ev = (
    pid: number,
    fn: string,
    target: string,
    extra: Partial<TraceEvent> = {},
  ): TraceEvent => ({
    hook_type: "nodejs",
    event_type: "enter",
    function: fn,
    module: fn.includes("fs.") ? "fs" : fn.includes("net.") ? "net" : "child_process",
    arguments: [],
    timestamp_ns: Number(process.hrtime.bigint() - t0),
    thread_id: 0,
    pid,
    target,
    verdict: "allow",
    ...extra,
  });

  it("explains reported syscalls and flags the rest, after the run at the latest", () => {
    const { c, out } = setup();
    procs.set(10, { ppid: 1, path: "node", traced: true });
    c.agentEvent(ev(10, "js:fs.readFileSync", "/secret/a"));
    c.agentEvent(
      ev(10, "js:net.connect", "127.0.0.1", { network_info: { host: "127.0.0.1", port: 80 } }),
    );
    c.agentEvent(ev(10, "js:child_process.spawn", "/bin/sh"));
    const w = wall();
    const recs: StraceRecord[] = [
      {
        kind: "exec",
        tid: 10,
        wallNs: w,
        syscall: "execve",
        path: "/usr/bin/node",
        argv: ["node"],
        ok: true,
      },
      {
        kind: "open",
        tid: 10,
        wallNs: w,
        syscall: "openat",
        path: "/secret/a",
        opened: "/secret/a",
        flags: "O_RDONLY",
        write: false,
        ok: true,
      },
      {
        kind: "open",
        tid: 10,
        wallNs: w,
        syscall: "openat",
        path: "/secret/b",
        flags: "O_RDONLY",
        write: false,
        ok: false,
        error: "ENOENT",
      },
      {
        kind: "open",
        tid: 10,
        wallNs: w,
        syscall: "openat",
        path: "/home/x/notes.txt",
        flags: "O_RDONLY",
        write: false,
        ok: true,
      },
      {
        kind: "connect",
        tid: 10,
        wallNs: w,
        family: "AF_INET",
        ip: "127.0.0.1",
        port: 80,
        ok: true,
      },
      {
        kind: "connect",
        tid: 10,
        wallNs: w,
        family: "AF_INET",
        ip: "127.0.0.1",
        port: 5555,
        ok: true,
      },
      {
        kind: "connect",
        tid: 10,
        wallNs: w,
        family: "AF_INET",
        ip: "127.0.0.1",
        port: 4444,
        ok: true,
      },
      { kind: "spawn", tid: 10, wallNs: w, child: 11, thread: false },
      {
        kind: "exec",
        tid: 11,
        wallNs: w,
        syscall: "execve",
        path: "/bin/sh",
        argv: ["sh"],
        ok: true,
      },
      {
        kind: "exec",
        tid: 11,
        wallNs: w,
        syscall: "execve",
        path: "/usr/bin/curl",
        argv: ["curl", "x"],
        ok: true,
      },
      // sh's own child (no agent above it): unhooked, but quiet (suppress).
      { kind: "spawn", tid: 11, wallNs: w, child: 12, thread: false },
      {
        kind: "exec",
        tid: 12,
        wallNs: w,
        syscall: "execve",
        path: "/usr/bin/cat",
        argv: ["cat"],
        ok: true,
      },
    ];
    for (const r of recs) c.straceRecord(r);
    // Within the grace nothing is decided.
    c.settle(false);
    expect(out).toEqual([]);
    c.settle(true);
    expect(out.map((e) => `${e.function} ${e.target} ${e.verdict}`)).toEqual([
      "unhooked:openat /secret/b warn",
      "unhooked:connect 127.0.0.1 warn",
      "unhooked:execve /usr/bin/curl display",
      "unhooked:execve /usr/bin/cat suppress",
    ]);
    expect(out[0]).toMatchObject({ rule_id: "storage.deny[0]", pid: 10 });
    expect(c.stats).toMatchObject({ checked: 8, hooked: 4, unhooked: 4, quiet: 1 });
  });

  it("maps threads to their process", () => {
    const { c, out } = setup();
    procs.set(10, { ppid: 1, path: "node", traced: true });
    c.agentEvent(ev(10, "js:fs.readFile", "/secret/t"));
    const w = wall();
    c.straceRecord({ kind: "spawn", tid: 10, wallNs: w, child: 15, thread: true });
    c.straceRecord({
      kind: "open",
      tid: 15,
      wallNs: w,
      syscall: "openat",
      path: "/secret/t",
      flags: "O_RDONLY",
      write: false,
      ok: true,
    });
    c.settle(true);
    expect(out).toEqual([]);
  });

  // Under load an agent's batch arrives late (its process starved of CPU): the old grace
  // windows (10 s at most, 8 s for an exec) called such a syscall unhooked. No timer decides
  // now: only a report explaining it, the agent caught up past it, or the agent counted out.
  it("an agent's late batch still explains its syscall: no verdict on a timer alone", () => {
    const { c, out } = setup();
    procs.set(10, { ppid: 1, path: "node", traced: true });
    const late = ev(10, "js:fs.readFileSync", "/secret/late");
    const spawnLate = ev(10, "js:child_process.spawn", "/bin/sh");
    const w = wall();
    const open = (path: string, tid = 10): StraceRecord => ({
      kind: "open",
      tid,
      wallNs: w,
      syscall: "openat",
      path,
      flags: "O_RDONLY",
      write: false,
      ok: true,
    });
    c.straceRecord(open("/secret/late"));
    c.straceRecord({ kind: "spawn", tid: 10, wallNs: w, child: 11, thread: false });
    c.straceRecord({
      kind: "exec",
      tid: 11,
      wallNs: w,
      syscall: "execve",
      path: "/bin/sh",
      argv: ["sh"],
      ok: true,
    });
    c.straceRecord({ kind: "exit", tid: 11, wallNs: w });
    const now = Date.now();
    // A minute later the agent has still said nothing: nothing is decided.
    c.settle(false, now + 60_000);
    expect(out).toEqual([]);
    // Its batch arrives at last: both are explained.
    c.agentEvent(late);
    c.agentEvent(spawnLate);
    c.settle(false, now + 61_000);
    expect(out).toEqual([]);
    expect(c.stats).toMatchObject({ hooked: 2, unhooked: 0 });
  });

  it("decides once every reporting thread of the agent is past the syscall, or the agent is counted out", () => {
    const { c, out } = setup();
    procs.set(10, { ppid: 1, path: "node", traced: true });
    c.agentEvent(ev(10, "js:fs.readFileSync", "/x", { thread_id: 1 }));
    c.agentEvent(ev(10, "js:fs.readFileSync", "/x"));
    const w = wall();
    c.straceRecord({
      kind: "open",
      tid: 10,
      wallNs: w,
      syscall: "openat",
      path: "/secret/raw",
      flags: "O_RDONLY",
      write: false,
      ok: true,
    });
    const now = Date.now();
    const later = (thread: number) =>
      ev(10, "js:fs.statSync", "/y", {
        thread_id: thread,
        timestamp_ns:
          Number(w - BigInt(Date.now()) * 1_000_000n) + Number(process.hrtime.bigint() - t0) + 1e9,
      });
    // A worker thread is past it, the main thread not yet: its event may still come.
    c.agentEvent(later(1));
    c.settle(false, now + 60_000);
    expect(out).toEqual([]);
    c.agentEvent(later(0));
    c.settle(false, now + 60_000);
    expect(out.map((e) => `${e.function} ${e.target} ${e.verdict}`)).toEqual([
      "unhooked:openat /secret/raw warn",
    ]);
    // Counted out: decided at once after the grace.
    c.straceRecord({
      kind: "open",
      tid: 10,
      wallNs: wall(),
      syscall: "openat",
      path: "/secret/raw2",
      flags: "O_RDONLY",
      write: false,
      ok: true,
    });
    procs.set(10, { ppid: 1, path: "node", traced: true, done: true });
    c.settle(false, Date.now() + 2_000);
    expect(out).toHaveLength(2);
  });
});
