/**
 * The policy benchmark's inputs, shared by bench/policy.bench.ts and the agreement test
 * (test/policy/engines-agree.test.ts): one policy at 9, 20 or 500 rules written three ways
 * (Warden YAML, Cedar, CASL rules) and the cases, each with the input every engine sees and
 * the decision all three must reach. Peers get the canonical input (they do no
 * canonicalization); Warden gets the raw one and canonicalizes inside the timed call. For the
 * case marked `caslNormalize`, CASL is also run on the raw input with the least a CASL user
 * would add to decide the same thing (`caslNormalized`), so that comparison is like for like.
 */
import { posix } from "node:path";
import { type AnyAbility, subject } from "@casl/ability";

export interface PeerInput {
  /** Cedar: action id and context. */
  cedar: { action: string; context: Record<string, unknown> };
  /** CASL: action, subject type and fields. */
  casl: { action: string; type: string; fields: Record<string, unknown> };
}

export interface BenchCase extends PeerInput {
  name: string;
  action: Record<string, unknown>;
  allowed: boolean;
  /** The rule deciding this case exists only from this policy size on (generated rules). */
  minSize?: number;
  /** A storage case whose raw URI needs canonicalizing: also measure `caslNormalized`. */
  caslNormalize?: boolean;
}

/**
 * CASL deciding a storage case from Warden's raw input, with the least canonicalization a
 * CASL user needs for the same decision: strip the `fs://` scheme and `path.posix.normalize`
 * the rest (`.`, `..` stopping at the root, repeated slashes), building the subject per call
 * as a caller would. (Percent-encoding, NUL, Unicode and the other refusals Warden also does
 * are left out: this is a floor for CASL, not an equal.)
 */
export function caslNormalized(ability: AnyAbility, c: BenchCase): boolean {
  const uri = c.action.uri as string;
  const path = posix.normalize(uri.startsWith("fs://") ? uri.slice(5) : uri);
  return ability.can(c.casl.action, subject(c.casl.type, { path }) as never);
}

/** The decision every engine must reach for `c` at `size` rules. */
export function expectedAllowed(c: BenchCase, size: number): boolean {
  return c.allowed && size >= (c.minSize ?? 0);
}

export interface CaslRule {
  action: string;
  subject: string;
  conditions?: Record<string, unknown>;
  inverted?: boolean;
}

export interface RuleSet {
  size: number;
  yaml: string;
  cedar: string;
  casl: CaslRule[];
}

function ipInt(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** The policy at `size` rules (size >= 9): 9 base rules plus generated ones of six shapes. */
export function ruleSet(size: number): RuleSet {
  const tools = { allow: [] as string[], deny: [] as string[] };
  const storage = { allow: [] as string[], deny: [] as string[] };
  const net = { allow: [] as string[], deny: [] as string[] };
  const cedar: string[] = [];
  const casl: CaslRule[] = [];
  const caslDeny: CaslRule[] = [];
  const permit = (a: string, cond: string) =>
    cedar.push(`permit(principal, action == Action::"${a}", resource) when { ${cond} };`);
  const forbid = (a: string, cond: string) =>
    cedar.push(`forbid(principal, action == Action::"${a}", resource) when { ${cond} };`);

  // The 9 base rules.
  tools.allow.push(`      - name: read_file`);
  permit("tool.call", `context.name == "read_file"`);
  casl.push({ action: "tool.call", subject: "Tool", conditions: { name: "read_file" } });
  tools.allow.push(`      - name: "calculator/*"`);
  permit("tool.call", `context.name like "calculator/*"`);
  casl.push({
    action: "tool.call",
    subject: "Tool",
    conditions: { name: { $regex: "^calculator/" } },
  });
  tools.allow.push(
    `      - name: file_reader\n        parameters:\n          path: "/data/**"\n          mode: { enum: [r, rw] }`,
  );
  permit(
    "tool.call",
    `context.name == "file_reader" && context has path && (context.path == "/data" || context.path like "/data/*") && context has mode && ["r", "rw"].contains(context.mode)`,
  );
  casl.push({
    action: "tool.call",
    subject: "Tool",
    conditions: {
      name: "file_reader",
      path: { $regex: "^/data(/|$)" },
      mode: { $in: ["r", "rw"] },
    },
  });
  tools.deny.push(`      - name: "system_*"`);
  forbid("tool.call", `context.name like "system_*"`);
  caslDeny.push({
    action: "tool.call",
    subject: "Tool",
    inverted: true,
    conditions: { name: { $regex: "^system_" } },
  });
  storage.allow.push(`    - uri: "fs:///data/**"\n      access: [read]`);
  permit("storage.read", `context.path == "/data" || context.path like "/data/*"`);
  casl.push({
    action: "storage.read",
    subject: "File",
    conditions: { path: { $regex: "^/data(/|$)" } },
  });
  storage.deny.push(`    - uri: "fs:///data/secret/**"`);
  forbid("storage.read", `context.path == "/data/secret" || context.path like "/data/secret/*"`);
  caslDeny.push({
    action: "storage.read",
    subject: "File",
    inverted: true,
    conditions: { path: { $regex: "^/data/secret(/|$)" } },
  });
  net.allow.push(`    - host: "*.example.com"`);
  permit("network.connect", `context.host like "*.example.com"`);
  casl.push({
    action: "network.connect",
    subject: "Host",
    conditions: { host: { $regex: "\\.example\\.com$" } },
  });
  net.allow.push(`    - cidr: 10.0.0.0/8`);
  permit("network.connect", `context has ip && ip(context.ip).isInRange(ip("10.0.0.0/8"))`);
  casl.push({
    action: "network.connect",
    subject: "Host",
    conditions: { ip: { $gte: ipInt(10, 0, 0, 0), $lte: ipInt(10, 255, 255, 255) } },
  });
  net.deny.push(`    - host: "*.evil.com"`);
  forbid("network.connect", `context.host like "*.evil.com"`);
  caslDeny.push({
    action: "network.connect",
    subject: "Host",
    inverted: true,
    conditions: { host: { $regex: "\\.evil\\.com$" } },
  });

  for (let i = 0; i < size - 9; i++) {
    switch (i % 6) {
      case 0:
        tools.allow.push(`      - name: svc${i}_tool`);
        permit("tool.call", `context.name == "svc${i}_tool"`);
        casl.push({ action: "tool.call", subject: "Tool", conditions: { name: `svc${i}_tool` } });
        break;
      case 1:
        tools.allow.push(`      - name: "ns${i}/*"`);
        permit("tool.call", `context.name like "ns${i}/*"`);
        casl.push({
          action: "tool.call",
          subject: "Tool",
          conditions: { name: { $regex: `^ns${i}/` } },
        });
        break;
      case 2:
        tools.deny.push(`      - name: "blocked${i}_*"`);
        forbid("tool.call", `context.name like "blocked${i}_*"`);
        caslDeny.push({
          action: "tool.call",
          subject: "Tool",
          inverted: true,
          conditions: { name: { $regex: `^blocked${i}_` } },
        });
        break;
      case 3:
        storage.allow.push(`    - uri: "fs:///srv/p${i}/**"\n      access: [read]`);
        permit("storage.read", `context.path == "/srv/p${i}" || context.path like "/srv/p${i}/*"`);
        casl.push({
          action: "storage.read",
          subject: "File",
          conditions: { path: { $regex: `^/srv/p${i}(/|$)` } },
        });
        break;
      case 4:
        net.allow.push(`    - host: "*.h${i}.example.org"`);
        permit("network.connect", `context.host like "*.h${i}.example.org"`);
        casl.push({
          action: "network.connect",
          subject: "Host",
          conditions: { host: { $regex: `\\.h${i}\\.example\\.org$` } },
        });
        break;
      default: {
        const b = (i >> 8) & 63;
        const c = i & 255;
        net.allow.push(`    - cidr: 100.${b}.${c}.0/24`);
        permit(
          "network.connect",
          `context has ip && ip(context.ip).isInRange(ip("100.${b}.${c}.0/24"))`,
        );
        casl.push({
          action: "network.connect",
          subject: "Host",
          conditions: { ip: { $gte: ipInt(100, b, c, 0), $lte: ipInt(100, b, c, 255) } },
        });
      }
    }
  }
  const yaml = [
    `version: "1.0"`,
    `description: "benchmark policy, ${size} rules"`,
    `storage:`,
    `  allow:`,
    ...storage.allow,
    `  deny:`,
    ...storage.deny,
    `network:`,
    `  allow:`,
    ...net.allow,
    `  deny:`,
    ...net.deny,
    `mcp:`,
    `  tools:`,
    `    allow:`,
    ...tools.allow,
    `    deny:`,
    ...tools.deny,
    ``,
  ].join("\n");
  // CASL: later rules win, so inverted (deny) rules go last.
  return { size, yaml, cedar: cedar.join("\n"), casl: [...casl, ...caslDeny] };
}

function tool(
  name: string,
  args?: Record<string, unknown>,
): PeerInput & { action: Record<string, unknown> } {
  return {
    action: args ? { kind: "tool.call", name, arguments: args } : { kind: "tool.call", name },
    cedar: { action: "tool.call", context: { name, ...(args ?? {}) } },
    casl: { action: "tool.call", type: "Tool", fields: { name, ...(args ?? {}) } },
  };
}

function file(raw: string, canonical: string): PeerInput & { action: Record<string, unknown> } {
  return {
    action: { kind: "storage.read", uri: raw },
    cedar: { action: "storage.read", context: { path: canonical } },
    casl: { action: "storage.read", type: "File", fields: { path: canonical } },
  };
}

function host(
  h: string,
  ip?: [number, number, number, number],
): PeerInput & { action: Record<string, unknown> } {
  const ctx: Record<string, unknown> = { host: h };
  const fields: Record<string, unknown> = { host: h };
  if (ip) {
    ctx.ip = ip.join(".");
    fields.ip = ipInt(...ip);
  }
  return {
    action: { kind: "network.connect", host: h, port: 443 },
    cedar: { action: "network.connect", context: ctx },
    casl: { action: "network.connect", type: "Host", fields },
  };
}

/** The benchmark cases (the list), each with its expected decision. */
export const BENCH_CASES: readonly BenchCase[] = [
  { name: "exact tool name", allowed: true, ...tool("read_file") },
  { name: "tool glob", allowed: true, ...tool("calculator/add") },
  { name: "no rule mentions it (default deny)", allowed: false, ...tool("unknown_tool_zz") },
  { name: "deny rule", allowed: false, ...tool("system_exec") },
  {
    name: "storage glob + canonicalization",
    allowed: true,
    caslNormalize: true,
    ...file("fs:///data/reports/./2024//q1.csv", "/data/reports/2024/q1.csv"),
  },
  {
    name: "storage glob, canonical input",
    allowed: true,
    ...file("/data/reports/2024/q1.csv", "/data/reports/2024/q1.csv"),
  },
  { name: "host glob", allowed: true, ...host("api.svc.example.com") },
  { name: "CIDR", allowed: true, ...host("10.1.2.3", [10, 1, 2, 3]) },
  {
    name: "tool call with parameter constraints",
    allowed: true,
    ...tool("file_reader", { path: "/data/x.txt", mode: "r" }),
  },
];

/** More inputs for the agreement test: the other side of each case. */
export const EXTRA_CASES: readonly BenchCase[] = [
  {
    name: "denied storage under an allowed tree",
    allowed: false,
    ...file("/data/secret/key", "/data/secret/key"),
  },
  { name: "storage outside every rule", allowed: false, ...file("/etc/passwd", "/etc/passwd") },
  {
    name: "dot-dot into the denied tree",
    allowed: false,
    ...file("fs:///data/reports/../secret//key", "/data/secret/key"),
  },
  {
    name: "dot-dot out of the allowed tree",
    allowed: false,
    ...file("fs:///data/../../etc/passwd", "/etc/passwd"),
  },
  {
    name: "dot and doubled slash inside the allowed tree",
    allowed: true,
    ...file("/data/./x//y.txt", "/data/x/y.txt"),
  },
  { name: "denied host glob", allowed: false, ...host("x.evil.com") },
  { name: "host outside every rule", allowed: false, ...host("example.net") },
  { name: "IP outside the CIDR", allowed: false, ...host("11.1.2.3", [11, 1, 2, 3]) },
  {
    name: "parameter outside its path",
    allowed: false,
    ...tool("file_reader", { path: "/etc/x", mode: "r" }),
  },
  {
    name: "parameter not in its enum",
    allowed: false,
    ...tool("file_reader", { path: "/data/x", mode: "w" }),
  },
  { name: "generated exact tool", allowed: true, minSize: 16, ...tool("svc6_tool") },
  { name: "generated deny glob", allowed: false, ...tool("blocked8_x") },
  { name: "generated storage glob", allowed: true, minSize: 19, ...file("/srv/p9/a", "/srv/p9/a") },
  { name: "generated host glob", allowed: true, minSize: 20, ...host("a.h10.example.org") },
  { name: "generated CIDR", allowed: true, minSize: 21, ...host("100.0.11.7", [100, 0, 11, 7]) },
];

/**
 * How many distinct inputs a first-sight row cycles through: 32 times what a memo keeps
 * (`MEMO_ENTRIES`, 4,096), so about 3% of the checks are answered from it.
 */
export const FIRST_SIGHT_INPUTS = 131_072;

/**
 * The `i`-th of many inputs like `c`'s that differ only where no rule looks (a name's tail, a
 * file name, a host's first label), each with the decision `c` has: cycled through far more
 * of them than a compiled policy remembers (src/policy/match/memo.ts), nearly every check is
 * a first sight, judged from scratch. Undefined for cases that have no such variants (an exact name).
 */
export function firstSight(c: BenchCase, i: number): BenchCase | undefined {
  const a = c.action;
  switch (c.name) {
    case "no rule mentions it (default deny)":
    case "deny rule":
    case "tool glob":
      return { ...c, ...tool(`${a.name as string}_${i}`) };
    case "tool call with parameter constraints": {
      const args = { ...(a.arguments as Record<string, unknown>), path: `/data/x${i}.txt` };
      return { ...c, ...tool(a.name as string, args) };
    }
    case "storage glob + canonicalization":
      return {
        ...c,
        ...file(`fs:///data/reports/./2024//q${i}.csv`, `/data/reports/2024/q${i}.csv`),
      };
    case "storage glob, canonical input":
      return { ...c, ...file(`/data/reports/2024/q${i}.csv`, `/data/reports/2024/q${i}.csv`) };
    case "host glob":
      return { ...c, ...host(`api${i}.svc.example.com`) };
    case "CIDR":
      return {
        ...c,
        ...host(`10.1.${(i >> 8) & 255}.${i & 255}`, [10, 1, (i >> 8) & 255, i & 255]),
      };
    default:
      return undefined;
  }
}
