/**
 * A malwi policy (integer `version: 1`) as a Warden policy: each malwi section and mode key
 * mapped onto Warden's sections (docs/malwi-policy.md has the table), every rule remembering
 * the malwi path it came from (so decisions and errors name the line the user wrote), and
 * every key Warden cannot enforce reported as a located warning, never dropped in silence.
 *
 * malwi's own evaluation is kept where Warden's sections allow: a section with only `allow`
 * rules is an allowlist (what it does not name is denied), any other section allows what it
 * does not name, an absent section allows everything; the most specific rule decides in the
 * process sections (as in malwi).
 */
import { homedir } from "node:os";
import type { Path } from "../source.js";

type Obj = Record<string, unknown>;

/** A problem found while translating, at a path of the malwi document. */
export interface Finding {
  readonly at: Path;
  readonly code: string;
  readonly message: string;
  /** Point at the key rather than its value. */
  readonly key?: boolean;
}

export interface Translated {
  /** The Warden policy document. */
  readonly value: Obj;
  /** Warden path (keyOf) to the malwi path it came from. */
  readonly origin: ReadonlyMap<string, Path>;
  readonly errors: readonly Finding[];
  readonly warnings: readonly Finding[];
}

export interface TranslateOptions {
  /** What `~` expands to (default: $HOME, else the OS's home directory). */
  readonly home?: string;
}

export const MALWI_MODES = ["allow", "deny", "review", "warn", "log", "noop", "hide"] as const;
type MalwiMode = (typeof MALWI_MODES)[number];
type WardenMode = "allow" | "deny" | "review" | "warn" | "log" | "noop";

/** malwi section names (current and the seed's older ones) to what they are. */
const SECTIONS: Readonly<Record<string, string>> = {
  python: "python",
  nodejs: "nodejs",
  node: "nodejs",
  commands: "commands",
  files: "files",
  envvars: "envvars",
  env: "envvars",
  environment: "envvars",
  network: "network",
  http: "network.urls",
  "python.http": "network.urls",
  "node.http": "network.urls",
  "nodejs.http": "network.urls",
  "networking.domains": "network.domains",
  "networking.endpoints": "network.endpoints",
  "networking.protocols": "network.protocols",
  symbols: "symbols",
  functions: "symbols",
  syscalls: "syscalls",
};

const KNOWN_TOP = [...Object.keys(SECTIONS), "version", "includes", "description"];
const WARDEN_ONLY = ["storage", "resources", "runtime", "mcp", "permissions", "endpoints"];
const PROTOCOLS = ["tcp", "udp", "http", "https", "ws", "wss"];
const FILE_OPS = ["read", "write", "edit", "delete", "create", "execute"];

interface Entry {
  readonly pattern: string;
  /** Constraints (`{ pattern: [..] }`): argument patterns, or file operations. */
  readonly constraints: readonly string[] | null;
  readonly at: Path;
  readonly mode: MalwiMode;
}

class Builder {
  readonly value: Obj = { version: "1.0" };
  readonly origin = new Map<string, Path>();
  readonly errors: Finding[] = [];
  readonly warnings: Finding[] = [];
  readonly home: string;

  constructor(home: string) {
    this.home = home;
  }

  /** Append `item` to the list at `section.list`, remembering where it came from. */
  push(section: string, list: string, item: unknown, from: Path): void {
    const s = (this.value[section] ??= {}) as Obj;
    const l = (s[list] ??= []) as unknown[];
    this.origin.set(keyPath([section, list, l.length]), from);
    l.push(item);
  }

  set(section: string, key: string, item: unknown, from: Path): void {
    const s = (this.value[section] ??= {}) as Obj;
    this.origin.set(keyPath([section, key]), from);
    s[key] = item;
  }

  warn(at: Path, code: string, message: string, key = false): void {
    this.warnings.push({ at, code, message, key });
  }

  error(at: Path, code: string, message: string, key = false): void {
    this.errors.push({ at, code, message, key });
  }

  /** `~` and `~/x` to the home directory. */
  expand(p: string): string {
    if (p === "~") return this.home;
    if (p.startsWith("~/")) return `${this.home}${p.slice(1)}`;
    return p;
  }
}

function keyPath(path: Path): string {
  return path.map(String).join("\u0000");
}

/** The rules of a section (a mapping of mode keys, or a list: implicit allow), checked. */
function entriesOf(b: Builder, name: string, value: unknown, extra: readonly string[]): Entry[] {
  const out: Entry[] = [];
  const take = (list: unknown, mode: MalwiMode, at: Path) => {
    if (!Array.isArray(list)) {
      b.error(at, "policy_type", `${name}.${mode} must be a list of patterns`);
      return;
    }
    list.forEach((r, i) => {
      const here = [...at, i];
      if (typeof r === "string") out.push({ pattern: r, constraints: null, at: here, mode });
      else if (r !== null && typeof r === "object" && !Array.isArray(r)) {
        const keys = Object.keys(r);
        const c = keys.length === 1 ? (r as Obj)[keys[0]!] : undefined;
        if (keys.length !== 1 || !Array.isArray(c) || c.some((x) => typeof x !== "string")) {
          b.error(
            here,
            "policy_type",
            `a rule is a pattern, or one pattern with a list of constraints like { "eval": ["*"] }`,
          );
          return;
        }
        out.push({ pattern: keys[0]!, constraints: c as string[], at: here, mode });
      } else
        b.error(
          here,
          "policy_type",
          "a rule is a pattern (a string) or { pattern: [constraints] }",
        );
    });
  };
  if (Array.isArray(value)) take(value, "allow", [name]);
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value as Obj)) {
      if ((MALWI_MODES as readonly string[]).includes(k)) take(v, k as MalwiMode, [name, k]);
      else if (!extra.includes(k))
        b.error(
          [name, k],
          "policy_unknown_key",
          `unknown key "${k}" in malwi section ${name}; valid keys: ${[...MALWI_MODES, ...extra].join(", ")}`,
          true,
        );
    }
  } else if (value !== null && value !== undefined)
    b.error(
      [name],
      "policy_type",
      `malwi section ${name} must be a mapping of modes or a list of patterns`,
    );
  return out;
}

/** malwi's default for a section: an allowlist when only `allow` has rules, else allow. */
function malwiDefault(entries: readonly Entry[]): "allow" | "deny" {
  return entries.length > 0 && entries.every((e) => e.mode === "allow") ? "deny" : "allow";
}

function hideAsDeny(b: Builder, e: Entry): WardenMode {
  if (e.mode !== "hide") return e.mode;
  b.warn(
    e.at,
    "policy_approximated",
    `"hide" (make it look absent) is enforced as deny: the call fails with a permission error instead`,
  );
  return "deny";
}

/** nodejs, python, commands: Warden's sections of the same shape. */
function modeSection(b: Builder, target: string, name: string, entries: readonly Entry[]): void {
  for (const e of entries) {
    const mode = hideAsDeny(b, e);
    const pattern = target === "commands" ? b.expand(e.pattern) : e.pattern;
    b.push(target, mode, e.constraints === null ? pattern : { [pattern]: e.constraints }, e.at);
  }
  b.set(target, "default", malwiDefault(entries), [name]);
}

/** A malwi file pattern as Warden path globs (`*` in malwi crosses `/` unless anchored). */
function filePatterns(b: Builder, raw: string): string[] {
  const p = b.expand(raw);
  if (p.startsWith("/")) return [p];
  const base = p.startsWith("**/") ? `/${p}` : `/**/${p}`;
  return /[^*]\*$/.test(p) || p === "*" ? [base, `${base}/**`] : [base];
}

function accessOf(b: Builder, e: Entry, effect: "allow" | "deny"): string[] | undefined {
  if (e.constraints === null) return ["read", "write"];
  const ops = e.constraints.map((o) => o.toLowerCase());
  const bad = ops.filter((o) => !FILE_OPS.includes(o));
  if (bad.length > 0) {
    b.error(
      e.at,
      "policy_bad_value",
      `file operation "${bad[0]}" is not one of ${FILE_OPS.join(", ")}`,
    );
    return undefined;
  }
  const access = new Set<string>();
  if (ops.includes("read") || ops.includes("execute")) access.add("read");
  const writes = ops.filter(
    (o) => o === "write" || o === "edit" || o === "delete" || o === "create",
  );
  if (writes.length > 0) {
    if (effect === "deny" || ops.includes("write")) {
      access.add("write");
      if (writes.some((o) => o !== "write") && !ops.includes("write"))
        b.warn(
          e.at,
          "policy_approximated",
          `Warden judges ${writes.join(", ")} as one access, write: this deny rule denies every write`,
        );
    } else
      b.warn(
        e.at,
        "policy_approximated",
        `Warden judges ${writes.join(", ")} as one access, write, and does not grant it here: list "write" to allow every write`,
      );
  }
  if (ops.includes("execute") && !ops.includes("read"))
    b.warn(e.at, "policy_approximated", "execute is judged as a read of the file");
  return [...access];
}

function files(b: Builder, entries: readonly Entry[], present: boolean): void {
  for (const e of entries) {
    if (e.pattern.startsWith("regex:")) {
      b.warn(
        e.at,
        "policy_not_enforced",
        `regex file patterns are not enforced (Warden's storage matches path globs): write it as a glob`,
      );
      continue;
    }
    const mode = hideAsDeny(b, e);
    if (mode === "warn" || mode === "log" || mode === "noop") {
      b.warn(
        e.at,
        "policy_not_enforced",
        `files.${e.mode}: Warden's storage allows or denies; these paths are allowed, not ${e.mode === "warn" ? "warned about" : "logged"}`,
      );
      continue;
    }
    if (mode === "review")
      b.warn(
        e.at,
        "policy_approximated",
        "files.review is enforced as deny (no review of file access)",
      );
    const effect = mode === "allow" ? "allow" : "deny";
    const access = accessOf(b, e, effect);
    if (access === undefined || access.length === 0) continue;
    for (const uri of filePatterns(b, e.pattern)) b.push("storage", effect, { uri, access }, e.at);
  }
  if (!present || malwiDefault(entries) === "allow")
    b.push(
      "storage",
      "allow",
      { uri: "/**", access: ["read", "write"] },
      present ? ["files"] : ["(malwi default: no files section)"],
    );
}

function envvars(b: Builder, entries: readonly Entry[], present: boolean): void {
  for (const e of entries) {
    if (e.pattern.startsWith("regex:")) {
      b.warn(
        e.at,
        "policy_not_enforced",
        "regex environment patterns are not enforced: write it as a glob",
      );
      continue;
    }
    const mode = hideAsDeny(b, e);
    if (mode === "warn" || mode === "log" || mode === "noop") {
      b.warn(
        e.at,
        "policy_not_enforced",
        `envvars.${e.mode}: Warden's environment section allows or denies; these keys are allowed, not ${e.mode === "warn" ? "warned about" : "logged"}`,
      );
      continue;
    }
    if (mode === "review")
      b.warn(e.at, "policy_approximated", "envvars.review is enforced as deny");
    if (e.constraints !== null && mode === "allow" && !e.constraints.includes("read")) {
      b.warn(
        e.at,
        "policy_approximated",
        "Warden judges reads of environment keys only: not allowed here",
      );
      continue;
    }
    b.push("environment", mode === "allow" ? "allow" : "deny", e.pattern, e.at);
  }
  if (!present || malwiDefault(entries) === "allow")
    b.push(
      "environment",
      "allow",
      "*",
      present ? ["envvars"] : ["(malwi default: no envvars section)"],
    );
}

/** What a network pattern is, as malwi classifies it: URL (has `/`), endpoint (`:`), domain. */
function classify(p: string): "url" | "endpoint" | "domain" {
  return p.includes("/") ? "url" : p.includes(":") ? "endpoint" : "domain";
}

function network(
  b: Builder,
  urls: readonly Entry[],
  domains: readonly Entry[],
  endpoints: readonly Entry[],
  protocols: { list: readonly string[]; at: Path } | undefined,
  present: boolean,
): void {
  const all = [...urls, ...domains, ...endpoints];
  let urlAllows = 0;
  // A deny of every host (`*`, `*/**`) beside allow rules is malwi's way to write an allowlist
  // (the more specific allow wins there): Warden's network denies what it does not allow, so
  // such a deny is kept only when nothing is allowed (air-gap), where it names the rule.
  const catchAll: Entry[] = [];
  let hostAllows = 0;
  const host = (h: string, e: Entry, mode: WardenMode, ports?: number[]) => {
    if (mode !== "allow" && mode !== "deny") {
      b.push("endpoints", mode, `${h}:*`, e.at);
      return;
    }
    if (mode === "deny" && (h === "*" || h === "**") && ports === undefined) {
      catchAll.push(e);
      return;
    }
    if (mode === "allow") hostAllows++;
    b.push("network", mode, ports === undefined ? { host: h } : { host: h, ports }, e.at);
  };
  for (const e of urls) {
    if (e.pattern.startsWith("regex:")) {
      b.push("http", hideAsDeny(b, e), e.pattern, e.at);
      continue;
    }
    const mode = hideAsDeny(b, e);
    b.push("http", mode, e.pattern, e.at);
    if (mode === "allow") urlAllows++;
    const bare = e.pattern.replace(/^[a-z]+:\/\//i, "");
    const slash = bare.indexOf("/");
    const authority = slash < 0 ? bare : bare.slice(0, slash);
    const path = slash < 0 ? "" : bare.slice(slash);
    const colon = authority.lastIndexOf(":");
    const h = colon > 0 && !authority.endsWith("]") ? authority.slice(0, colon) : authority;
    const port = colon > 0 ? authority.slice(colon + 1) : "*";
    const ports = /^\d+$/.test(port) ? [Number(port)] : undefined;
    // The host itself: an allow lets the connection through (http judges the path); a deny of
    // the whole host (`host/**`, `host/`) denies connecting too, as malwi's `host/` does.
    if (h === "" || h === "*" || h === "**") {
      if (mode === "allow" || path === "/**" || path === "/" || path === "")
        host("*", e, mode, ports);
    } else if (mode === "allow" || path === "/**" || path === "/" || path === "")
      host(h, e, mode, ports);
  }
  for (const e of domains) {
    if (e.pattern.startsWith("regex:")) {
      b.warn(
        e.at,
        "policy_not_enforced",
        "regex domain patterns are not enforced: write it as a glob",
      );
      continue;
    }
    host(e.pattern, e, hideAsDeny(b, e));
  }
  for (const e of endpoints) {
    const mode = hideAsDeny(b, e);
    b.push("endpoints", mode, e.pattern, e.at);
    if (mode === "allow" && !e.pattern.startsWith("regex:")) {
      const colon = e.pattern.lastIndexOf(":");
      const h = e.pattern.slice(0, colon);
      const port = e.pattern.slice(colon + 1);
      host(h === "" ? "*" : h, e, "allow", /^\d+$/.test(port) ? [Number(port)] : undefined);
    }
  }
  if (protocols !== undefined) {
    const bad = protocols.list.find((p) => !PROTOCOLS.includes(p.toLowerCase()));
    if (bad !== undefined)
      b.error(
        protocols.at,
        "policy_bad_value",
        `protocol "${bad}" is not one of ${PROTOCOLS.join(", ")}`,
      );
    else
      b.set(
        "endpoints",
        "protocols",
        protocols.list.map((p) => p.toLowerCase()),
        protocols.at,
      );
  }
  const def = malwiDefault(all);
  if (catchAll.length > 0 && hostAllows === 0)
    for (const e of catchAll) b.push("network", "deny", { host: "*" }, e.at);
  if ((!present || def === "allow") && catchAll.length === 0) {
    const from = present ? ["network"] : ["(malwi default: no network section)"];
    b.push("network", "allow", { host: "*" }, from);
    b.push("network", "allow", { cidr: "0.0.0.0/0" }, from);
    b.push("network", "allow", { cidr: "::/0" }, from);
  }
  if (urlAllows > 0 && (def === "deny" || catchAll.length > 0))
    b.set("http", "default", "deny", ["network"]);
  // An allowlist of endpoints: what it does not name is denied, as in malwi.
  if (def === "deny" && endpoints.some((e) => e.mode === "allow"))
    b.set("endpoints", "default", "deny", ["network"]);
}

/** Translate a malwi document (its version already checked). */
export function translateMalwi(doc: Obj, opts: TranslateOptions = {}): Translated {
  const b = new Builder(opts.home ?? process.env.HOME ?? homedir());
  if (typeof doc.description === "string") b.value.description = doc.description;
  const byKind = new Map<string, { name: string; entries: Entry[] }[]>();
  let protocols: { list: readonly string[]; at: Path } | undefined;
  for (const [name, value] of Object.entries(doc)) {
    if (name === "version" || name === "description") continue;
    if (name === "includes") {
      b.warn(
        [name],
        "policy_not_enforced",
        "includes name malwi's built-in policies, which Warden does not have: their rules are not applied (copy the rules you need into this file, or use warden run --preset)",
        true,
      );
      continue;
    }
    const kind = SECTIONS[name];
    if (kind === undefined) {
      const near = KNOWN_TOP.find((k) => k.startsWith(name.slice(0, 3)));
      const warden = WARDEN_ONLY.includes(name)
        ? ` ("${name}" is a section of Warden's own policies: this file has the integer version 1, so it is read as a malwi policy; write version: "1.0" for a Warden policy)`
        : near
          ? ` (did you mean "${near}"?)`
          : "";
      b.error(
        [name],
        "policy_unknown_key",
        `unknown malwi section "${name}"${warden}; known: ${Object.keys(SECTIONS).join(", ")}`,
        true,
      );
      continue;
    }
    if (kind === "symbols" || kind === "syscalls") {
      b.warn(
        [name],
        "policy_not_enforced",
        `${name}: Warden does not hook native ${kind === "symbols" ? "symbols" : "syscall instructions"}; these rules are not enforced`,
        true,
      );
      continue;
    }
    if (kind === "network.protocols") {
      const list = Array.isArray(value) ? value : (value as Obj | null)?.allow;
      if (!Array.isArray(list) || list.some((x) => typeof x !== "string"))
        b.error([name], "policy_type", `${name} must be a list of protocols`);
      else protocols = { list: list as string[], at: [name] };
      continue;
    }
    const extra = kind === "network" ? ["protocols"] : [];
    const entries = entriesOf(b, name, value, extra);
    if (
      kind === "network" &&
      value !== null &&
      typeof value === "object" &&
      !Array.isArray(value)
    ) {
      const p = (value as Obj).protocols;
      if (p !== undefined) {
        if (!Array.isArray(p) || p.some((x) => typeof x !== "string"))
          b.error([name, "protocols"], "policy_type", "protocols must be a list");
        else protocols = { list: p as string[], at: [name, "protocols"] };
      }
    }
    const list = byKind.get(kind) ?? [];
    list.push({ name, entries });
    byKind.set(kind, list);
  }
  const flat = (kind: string) => (byKind.get(kind) ?? []).flatMap((s) => s.entries);
  for (const target of ["nodejs", "python", "commands"] as const) {
    const sections = byKind.get(target);
    if (sections !== undefined)
      modeSection(
        b,
        target,
        sections[0]!.name,
        sections.flatMap((s) => s.entries),
      );
  }
  files(b, flat("files"), byKind.has("files"));
  envvars(b, flat("envvars"), byKind.has("envvars"));
  const urls: Entry[] = [];
  const domains: Entry[] = flat("network.domains");
  const endpoints: Entry[] = flat("network.endpoints");
  for (const e of flat("network")) {
    const c = e.pattern.startsWith("regex:") ? "url" : classify(e.pattern);
    (c === "url" ? urls : c === "endpoint" ? endpoints : domains).push(e);
  }
  urls.push(...flat("network.urls"));
  const netPresent =
    [...byKind.keys()].some((k) => k.startsWith("network")) || protocols !== undefined;
  network(b, urls, domains, endpoints, protocols, netPresent);
  // Absent commands: malwi runs every program.
  if (!byKind.has("commands"))
    b.set("commands", "default", "allow", ["(malwi default: no commands section)"]);
  return { value: b.value, origin: b.origin, errors: b.errors, warnings: b.warnings };
}
