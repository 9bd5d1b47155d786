/**
 * strace's output, read line by line into records. Warden runs strace with `-xx` (every byte of
 * every string printed as `\xNN`) and `-y` (file descriptors followed by their path, escaped the
 * same way), so a quote, a parenthesis, a newline or a terminal escape in a file name reaches
 * this parser as hex and cannot end a string, split a line or fake another syscall: the only `"`
 * on a line are string delimiters. Lines of a syscall another task interrupted (`<unfinished
 * ...>` then `<... name resumed>`) are joined per task before they are parsed. Lines this parser
 * does not know (signals, strace's own notes) are skipped, never guessed at.
 */

/** One syscall (or a task's end) as strace printed it. */
export type StraceRecord =
  | {
      readonly kind: "exec";
      readonly tid: number;
      /** Wall-clock time, in nanoseconds since the epoch (strace's `-ttt`). */
      readonly wallNs: bigint;
      readonly syscall: "execve" | "execveat";
      readonly path: string;
      readonly argv: readonly string[];
      readonly ok: boolean;
    }
  | {
      readonly kind: "open";
      readonly tid: number;
      readonly wallNs: bigint;
      readonly syscall: "open" | "openat" | "openat2" | "creat";
      /** The path as given, made absolute with the directory fd's path (`-y`) when relative. */
      readonly path: string;
      /** The path of the file it opened (`-y` on the returned fd), when it succeeded. */
      readonly opened?: string;
      readonly flags: string;
      readonly write: boolean;
      readonly ok: boolean;
      readonly error?: string;
    }
  | {
      readonly kind: "connect";
      readonly tid: number;
      readonly wallNs: bigint;
      readonly family: "AF_INET" | "AF_INET6";
      readonly ip: string;
      readonly port: number;
      readonly ok: boolean;
      readonly error?: string;
    }
  | {
      readonly kind: "spawn";
      readonly tid: number;
      readonly wallNs: bigint;
      /** The new task's id. */
      readonly child: number;
      /** A thread of the same process (CLONE_THREAD), not a new process. */
      readonly thread: boolean;
    }
  | { readonly kind: "exit"; readonly tid: number; readonly wallNs: bigint };

const HEAD = /^(\d+) +(\d+)\.(\d{1,9}) (.*)$/s;
const STRING = /"((?:\\x[0-9a-f]{2})*)"(\.\.\.)?/g;

/** The bytes of a `-xx` string's inside (`\x2f\x74`), as UTF-8 text (invalid bytes as U+FFFD). */
export function unhex(s: string): string {
  const b = Buffer.alloc(s.length >> 2);
  for (let i = 0, j = 0; i + 3 < s.length; i += 4, j++)
    b[j] = Number.parseInt(s.slice(i + 2, i + 4), 16);
  return b.toString("utf8");
}

/** The strings of a piece of a line, in order. */
function strings(s: string): string[] {
  const out: string[] = [];
  for (const m of s.matchAll(STRING)) out.push(unhex(m[1]!));
  return out;
}

/** `<\x2f...>` right after `at` (a `-y` fd path), or undefined. */
function fdPath(s: string, at: number): string | undefined {
  if (s[at] !== "<") return undefined;
  const end = s.indexOf(">", at);
  if (end < 0) return undefined;
  const inner = s.slice(at + 1, end);
  return /^(?:\\x[0-9a-f]{2})*$/.test(inner) ? unhex(inner) : undefined;
}

/** Split `name(args) = ret` at the ` = ` that follows the last `)` (strings are hex: safe). */
function callParts(rest: string): { name: string; args: string; ret: string } | undefined {
  const open = rest.indexOf("(");
  if (open <= 0) return undefined;
  const name = rest.slice(0, open);
  if (!/^[a-z_0-9]+$/.test(name)) return undefined;
  const eq = rest.lastIndexOf(") = ");
  if (eq < open) return undefined;
  return { name, args: rest.slice(open + 1, eq), ret: rest.slice(eq + 4).trim() };
}

function result(ret: string): { ok: boolean; value?: number; error?: string; path?: string } {
  const m = /^(-?\d+)(<(?:\\x[0-9a-f]{2})*>)?(?: ([A-Z][A-Z0-9_]*))?/.exec(ret);
  if (m === null) return { ok: false };
  const value = Number(m[1]);
  const path = m[2] === undefined ? undefined : unhex(m[2].slice(1, -1));
  return {
    ok: value >= 0,
    value,
    ...(m[3] !== undefined ? { error: m[3] } : {}),
    ...(path !== undefined ? { path } : {}),
  };
}

const WRITE_FLAGS = /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND/;

function joinPath(dir: string | undefined, p: string): string {
  if (p.startsWith("/") || dir === undefined) return p;
  return dir.endsWith("/") ? `${dir}${p}` : `${dir}/${p}`;
}

function parseCall(tid: number, wallNs: bigint, rest: string): StraceRecord | undefined {
  const c = callParts(rest);
  if (c === undefined) return undefined;
  const r = result(c.ret);
  switch (c.name) {
    case "execve":
    case "execveat": {
      let args = c.args;
      let dir: string | undefined;
      if (c.name === "execveat") {
        dir = fdPath(args, args.search(/[<,]/));
        args = args.slice(args.indexOf(",") + 1);
      }
      const q = args.indexOf('"');
      const arr = args.indexOf("[");
      if (q < 0) return undefined;
      const path = strings(args.slice(0, arr < 0 ? undefined : arr))[0];
      if (path === undefined) return undefined;
      const close = arr < 0 ? -1 : args.indexOf("]", arr);
      const argv = arr < 0 ? [] : strings(args.slice(arr, close < 0 ? undefined : close));
      return {
        kind: "exec",
        tid,
        wallNs,
        syscall: c.name,
        path: joinPath(dir, path),
        argv,
        ok: r.ok,
      };
    }
    case "open":
    case "openat":
    case "openat2":
    case "creat": {
      let args = c.args;
      let dir: string | undefined;
      if (c.name === "openat" || c.name === "openat2") {
        const lt = args.indexOf("<");
        const comma = args.indexOf(",");
        if (lt >= 0 && lt < comma) dir = fdPath(args, lt);
        args = args.slice(comma + 1);
      }
      const m = /^ ?"((?:\\x[0-9a-f]{2})*)"(?:\.\.\.)?(.*)$/s.exec(args);
      if (m === null) return undefined;
      const flags = c.name === "creat" ? "O_CREAT|O_WRONLY|O_TRUNC" : m[2]!;
      return {
        kind: "open",
        tid,
        wallNs,
        syscall: c.name,
        path: joinPath(dir, unhex(m[1]!)),
        ...(r.path !== undefined ? { opened: r.path } : {}),
        flags: flags
          .replace(/^[ ,{]+/, "")
          .split(/[,}]/)[0]!
          .replace(/^flags=/, ""),
        write: WRITE_FLAGS.test(flags),
        ok: r.ok,
        ...(r.error !== undefined ? { error: r.error } : {}),
      };
    }
    case "connect": {
      const fam = /sa_family=(AF_INET6?)\b/.exec(c.args);
      if (fam === null) return undefined;
      const port = /sin6?_port=htons\((\d+)\)/.exec(c.args);
      const ip =
        fam[1] === "AF_INET"
          ? /sin_addr=inet_addr\("((?:\\x[0-9a-f]{2})*)"\)/.exec(c.args)
          : /inet_pton\(AF_INET6, "((?:\\x[0-9a-f]{2})*)"/.exec(c.args);
      if (port === null || ip === null) return undefined;
      const ok = r.ok || r.error === "EINPROGRESS";
      return {
        kind: "connect",
        tid,
        wallNs,
        family: fam[1] as "AF_INET" | "AF_INET6",
        ip: unhex(ip[1]!),
        port: Number(port[1]),
        ok,
        ...(r.error !== undefined && !ok ? { error: r.error } : {}),
      };
    }
    case "clone":
    case "clone3":
    case "fork":
    case "vfork": {
      if (!r.ok || r.value === undefined || r.value <= 0) return undefined;
      return {
        kind: "spawn",
        tid,
        wallNs,
        child: r.value,
        thread: /CLONE_THREAD/.test(c.args),
      };
    }
    default:
      return undefined;
  }
}

/**
 * A stateful reader of strace's lines (`-f -ttt -xx -y`): `line()` returns the record a line
 * completes, if any. Unfinished calls wait for their resumption, keyed by task.
 */
export class StraceParser {
  readonly #unfinished = new Map<number, { wallNs: bigint; head: string }>();
  /** Lines skipped because they were not understood (strace notes, unknown shapes). */
  skipped = 0;

  line(text: string): StraceRecord | undefined {
    const m = HEAD.exec(text);
    if (m === null) {
      if (text.trim() !== "") this.skipped++;
      return undefined;
    }
    const tid = Number(m[1]);
    const wallNs = BigInt(m[2]!) * 1_000_000_000n + BigInt(m[3]!.padEnd(9, "0"));
    let rest = m[4]!;
    if (rest.startsWith("+++ ")) {
      if (/^\+\+\+ (exited with -?\d+|killed by SIG\w+( \(core dumped\))?) \+\+\+$/.test(rest))
        return { kind: "exit", tid, wallNs };
      return undefined;
    }
    if (rest.startsWith("--- ")) return undefined;
    if (rest.endsWith(" <unfinished ...>")) {
      this.#unfinished.set(tid, { wallNs, head: rest.slice(0, -" <unfinished ...>".length) });
      return undefined;
    }
    const resumed = /^<\.\.\. ([a-z_0-9]+) resumed>(.*)$/s.exec(rest);
    if (resumed !== null) {
      const u = this.#unfinished.get(tid);
      this.#unfinished.delete(tid);
      if (u === undefined || !u.head.startsWith(`${resumed[1]}(`)) {
        this.skipped++;
        return undefined;
      }
      rest = `${u.head}${resumed[2]!}`;
      return this.#parse(tid, u.wallNs, rest);
    }
    return this.#parse(tid, wallNs, rest);
  }

  #parse(tid: number, wallNs: bigint, rest: string): StraceRecord | undefined {
    const r = parseCall(tid, wallNs, rest);
    if (r === undefined) this.skipped++;
    return r;
  }
}
