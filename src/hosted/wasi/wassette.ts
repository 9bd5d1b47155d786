/**
 * Wassette's per-component policy files, accepted as they are and mapped onto Warden's policy
 * (docs/hosted-tools.md, "Wassette policy files"). Wassette's format (microsoft/wassette,
 * crates/policy): `$schema`, `version`, `description`, and `permissions` with `storage`
 * (`allow`/`deny` of `{uri: "fs://...", access: [read, write]}`), `network` (`allow`/`deny` of
 * `{host}` or `{cidr}`), `environment` (`allow` of `{key}`), `resources`, `runtime`, `ipc`.
 *
 * Meaning kept: a storage `uri` without a glob names a directory tree (Wassette preopens it),
 * so `fs:///data` becomes `fs:///data/**` (which also matches `/data` itself). Refused, with
 * the key located: keys Wassette does not define, `network.allow[].defaults: true` (a list of
 * about 80 hosts chosen by Wassette: write the hosts), `runtime` (Docker, Hyperlight: Warden
 * runs components in its own sandbox), `ipc`, `resources.io` (not enforced by Warden).
 * Read by the `yaml` package (positions from its nodes); the Warden policy is produced as JSON
 * text, rule for rule in the same order, and `locations` maps each rule back to its line.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from "yaml";
import type { PolicyError } from "../../policy/types.js";

const TOP = ["$schema", "version", "description", "permissions"];
const PERMISSIONS = ["storage", "network", "environment", "resources", "runtime", "ipc"];
const GLOB = /[*?[\]{}]/;

export type WassetteResult =
  | {
      readonly ok: true;
      /** The Warden policy, JSON text. */
      readonly source: string;
      /** Warden rule id (`storage.allow[0]`) to `file:line` in the Wassette file. */
      readonly locations: ReadonlyMap<string, string>;
      /** A compile error of the mapped policy, located in the Wassette file. */
      readonly locate: (e: PolicyError) => PolicyError;
    }
  | { readonly ok: false; readonly errors: readonly PolicyError[] };

/**
 * True when `source` is shaped as a Wassette policy file: a mapping whose keys are among
 * Wassette's top-level keys, with `permissions` whose keys are Wassette's sections. (A Warden
 * policy written under `permissions:` with only those sections is read as Wassette's: the same
 * but for a storage uri without a glob, which becomes its directory tree.)
 */
export function isWassettePolicy(source: string): boolean {
  try {
    const doc = parseDocument(source, { uniqueKeys: true });
    const root = doc.contents;
    if (!isMap(root)) return false;
    const keys = root.items.map((p) => (isScalar(p.key) ? String(p.key.value) : ""));
    if (!keys.includes("permissions") || !keys.every((k) => TOP.includes(k))) return false;
    // Warden's own keys under `permissions` (mcp, case_insensitive...) make it Warden's.
    const perms = root.get("permissions", true);
    if (!isMap(perms)) return true;
    return perms.items.every((p) => isScalar(p.key) && PERMISSIONS.includes(String(p.key.value)));
  } catch {
    return false;
  }
}

/** Map a Wassette policy file onto Warden's policy language. */
export function fromWassette(source: string, file: string): WassetteResult {
  const lc = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const errors: PolicyError[] = [];
  const at = (node: Node | null | undefined, key: string, code: string, message: string) => {
    const pos = lc.linePos(node?.range?.[0] ?? 0);
    errors.push({ file, line: pos.line, col: pos.col, code, key, message });
  };
  for (const e of doc.errors) {
    const pos = lc.linePos(e.pos[0]);
    errors.push({
      file,
      line: pos.line,
      col: pos.col,
      code: "policy_syntax",
      key: "",
      message: e.message.split("\n")[0]!,
    });
  }
  if (errors.length > 0) return { ok: false, errors };
  const lineOf = (node: Node | null | undefined) =>
    `${file}:${lc.linePos(node?.range?.[0] ?? 0).line}`;
  const root = doc.contents;
  if (!isMap(root)) {
    at(root, "", "policy_type", "a Wassette policy is a mapping with `version` and `permissions`");
    return { ok: false, errors };
  }
  const keysOf = (m: YAMLMap, path: string, known: readonly string[]) => {
    for (const p of m.items) {
      const k = isScalar(p.key) ? String(p.key.value) : "";
      if (!known.includes(k))
        at(
          p.key as Node,
          path ? `${path}.${k}` : k,
          "policy_unknown_key",
          `unknown key "${k}"${path ? ` in ${path}` : ""} of a Wassette policy; known keys: ${known.join(", ")}`,
        );
    }
  };
  keysOf(root, "", TOP);
  const out: Record<string, unknown> = {};
  const locations = new Map<string, string>();
  const version = root.get("version");
  // Wassette's format version 1 (written "1.0", "1", 1 or 1.0) maps onto Warden's "1.0"; Warden's
  // own reader would take a bare 1 for malwi's format, so the mapped policy never carries it.
  out.version =
    version === undefined || ["1", "1.0"].includes(String(version)) ? "1.0" : String(version);
  const description = root.get("description");
  if (typeof description === "string") out.description = description;
  const perms = root.get("permissions", true) as Node | undefined;
  if (perms !== undefined && !isMap(perms)) {
    at(perms, "permissions", "policy_type", "`permissions` must be a mapping");
    return { ok: false, errors };
  }
  if (isMap(perms)) {
    keysOf(perms, "permissions", PERMISSIONS);
    for (const k of ["runtime", "ipc"]) {
      const n = perms.get(k, true) as Node | undefined;
      if (n !== undefined)
        at(
          n,
          `permissions.${k}`,
          "policy_bad_value",
          k === "runtime"
            ? "permissions.runtime (Docker, Hyperlight) has no meaning here: Warden runs components in its own sandbox (memory, time and fuel limits); remove it"
            : "permissions.ipc is not enforced by Warden; remove it",
        );
    }
    const lists = (
      section: string,
      kinds: readonly ("allow" | "deny")[],
      entry: (item: Node, id: string, key: string) => Record<string, unknown> | undefined,
    ) => {
      const s = perms.get(section, true) as Node | undefined;
      if (s === undefined) return;
      if (!isMap(s)) {
        at(s, `permissions.${section}`, "policy_type", `permissions.${section} must be a mapping`);
        return;
      }
      keysOf(s, `permissions.${section}`, kinds);
      const sec: Record<string, unknown[]> = {};
      for (const kind of kinds) {
        const l = s.get(kind, true) as Node | undefined;
        if (l === undefined) continue;
        if (!isSeq(l)) {
          at(l, `permissions.${section}.${kind}`, "policy_type", "must be a list");
          continue;
        }
        const rules: unknown[] = [];
        for (const item of l.items as Node[]) {
          const id = `${section}.${kind}[${rules.length}]`;
          const e = entry(item, id, `permissions.${id}`);
          if (e === undefined) continue;
          locations.set(id, lineOf(item));
          rules.push(e);
        }
        sec[kind] = rules;
      }
      out[section] = sec;
    };
    const fields = (item: Node, key: string, known: readonly string[]) => {
      if (!isMap(item)) {
        at(item, key, "policy_type", `${key} must be a mapping (${known.join(", ")})`);
        return undefined;
      }
      keysOf(item, key, known);
      return item;
    };
    lists("storage", ["allow", "deny"], (item, _id, key) => {
      const m = fields(item, key, ["uri", "access"]);
      if (m === undefined) return undefined;
      const uri = m.get("uri");
      if (typeof uri !== "string" || uri === "") {
        at(
          (m.get("uri", true) as Node) ?? item,
          `${key}.uri`,
          "policy_type",
          "uri must be a non-empty string like fs:///data",
        );
        return undefined;
      }
      const tree = GLOB.test(uri) ? uri : `${uri.replace(/\/+$/, "")}/**`;
      const access = m.get("access");
      const r: Record<string, unknown> = { uri: tree };
      if (access !== undefined)
        r.access = isSeq(m.get("access", true))
          ? (m.get("access", true) as { toJSON(): unknown }).toJSON()
          : access;
      return r;
    });
    lists("network", ["allow", "deny"], (item, _id, key) => {
      const m = fields(item, key, ["host", "cidr", "defaults"]);
      if (m === undefined) return undefined;
      if (m.get("defaults") !== undefined) {
        at(
          m.get("defaults", true) as Node,
          `${key}.defaults`,
          "policy_bad_value",
          "`defaults: true` grants Wassette's list of about 80 hosts; Warden grants only what the file names: list the hosts you need as `- host: ...`",
        );
        return undefined;
      }
      const r: Record<string, unknown> = {};
      for (const k of ["host", "cidr"]) if (m.get(k) !== undefined) r[k] = m.get(k);
      return r;
    });
    lists("environment", ["allow"], (item, _id, key) => {
      const m = fields(item, key, ["key"]);
      if (m === undefined) return undefined;
      return { key: m.get("key") };
    });
    const res = perms.get("resources", true) as Node | undefined;
    if (res !== undefined) {
      const m = fields(res, "permissions.resources", ["cpu", "memory", "io"]);
      if (m !== undefined) {
        const limits: Record<string, unknown> = {};
        if (m.get("cpu") !== undefined) limits.cpu = String(m.get("cpu"));
        if (m.get("memory") !== undefined) limits.memory = m.get("memory");
        if (m.get("io") !== undefined)
          at(
            m.get("io", true) as Node,
            "permissions.resources.io",
            "policy_bad_value",
            "permissions.resources.io is not enforced by Warden; remove it",
          );
        out.resources = { limits };
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const locate = (e: PolicyError): PolicyError => {
    // `storage.allow[0].uri` → the node at permissions.storage.allow[0].uri in the file.
    const path = e.key
      .split(/\.|\[(\d+)\]/)
      .filter((s) => s !== undefined && s !== "")
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    const node =
      path.length > 0 && path[0] !== "version" && path[0] !== "description"
        ? (doc.getIn(["permissions", ...path], true) as Node | undefined)
        : (doc.getIn(path, true) as Node | undefined);
    if (node?.range == null) return e;
    const pos = lc.linePos(node.range[0]);
    return { ...e, line: pos.line, col: pos.col, key: `permissions.${e.key}` };
  };
  return { ok: true, source: JSON.stringify(out), locations, locate };
}
