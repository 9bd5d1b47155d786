/**
 * A second upstream renames every tool: with several upstreams, `prefix` defaults to true and
 * the client sees `<upstream>__<tool>` (prompts too) and `<upstream>+<uri>` (resources), so a
 * policy rule written for one upstream's own names stops matching anything. Without starting
 * the upstreams (`--check` does not), the names they list are unknown; what can be known is a
 * rule that names no upstream prefix and can match no prefixed name at all. Each such rule gets
 * a warning naming the rule (`file:line:col` and key) and the prefixed name to write instead.
 */
import { readFileSync } from "node:fs";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { literalPrefix } from "../core/glob.js";
import type { GatewayConfig } from "./config-types.js";

/** A warning located in the policy file: `file:line:col key: message`. */
export interface PolicyWarning {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly key: string;
  readonly message: string;
}

const SECTIONS = [
  { kind: "tools", field: "name", sep: "__", what: "tool" },
  { kind: "prompts", field: "name", sep: "__", what: "prompt" },
  { kind: "resources", field: "uri", sep: "+", what: "resource" },
] as const;

/** Could the glob `pattern` match a name that starts with one of `prefixes` (case aside)? */
function reachesPrefix(pattern: string, prefixes: readonly string[]): boolean {
  const lit = literalPrefix(pattern).toLowerCase();
  return prefixes.some((p) => {
    const q = p.toLowerCase();
    return q.startsWith(lit) || lit.startsWith(q);
  });
}

/** `<upstream>__<name>` or `<upstream>+<uri>` already (the upstream part a plain name). */
function hasPrefixForm(name: string, sep: string): boolean {
  const i = name.indexOf(sep);
  return i > 0 && /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name.slice(0, i));
}

/**
 * The rules of `config`'s policy (mcp.tools, mcp.prompts, mcp.resources; allow and deny) that
 * name no prefixed tool, prompt or resource while every upstream is prefixed. Empty when some
 * upstream is not prefixed (an unprefixed name may be its own) or the policy cannot be read
 * (its own check reports that).
 */
export function prefixWarnings(config: GatewayConfig): PolicyWarning[] {
  const prefixed = config.upstreams.filter((u) => u.prefix).map((u) => u.name);
  if (prefixed.length === 0 || prefixed.length !== config.upstreams.length) return [];
  let text: string;
  try {
    text = readFileSync(config.policy, "utf8");
  } catch {
    return [];
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length > 0) return [];
  const root = doc.contents;
  const top = isMap(root) && isMap(root.get("permissions", true)) ? "permissions.mcp" : "mcp";
  const mcp = doc.getIn(top.split("."), true);
  if (!isMap(mcp)) return [];
  const several = config.upstreams.length > 1;
  const why = several
    ? `with ${config.upstreams.length} upstreams their names are prefixed (prefix defaults to true with several)`
    : `upstream "${prefixed[0]}" has prefix: true`;
  const out: PolicyWarning[] = [];
  for (const s of SECTIONS) {
    const section = mcp.get(s.kind, true);
    if (!isMap(section)) continue;
    const prefixes = prefixed.map((p) => `${p}${s.sep}`);
    for (const list of ["allow", "deny"] as const) {
      const seq = section.get(list, true);
      if (!isSeq(seq)) continue;
      seq.items.forEach((item, i) => {
        const node = (isMap(item) ? item.get(s.field, true) : item) as Node | undefined;
        if (!isScalar(node) || typeof node.value !== "string") return;
        const name = node.value;
        // Already in the prefixed form (of an upstream this config may not have: a policy
        // shared by several configs), or a glob that can reach a prefixed name.
        if (hasPrefixForm(name, s.sep) || reachesPrefix(name, prefixes)) return;
        const pos = lines.linePos(node.range?.[0] ?? 0);
        const use = prefixes.map((p) => `"${p}${name}"`);
        const key = `${top}.${s.kind}.${list}[${i}]${isMap(item) ? `.${s.field}` : ""}`;
        out.push({
          file: config.policy,
          line: pos.line,
          col: pos.col,
          key,
          message: `"${name}" names no ${s.what} the client sees: ${why}, so each ${s.what} is "<upstream>${s.sep}<${s.field}>" and this rule matches nothing${list === "deny" ? " (it denies nothing)" : ""}. Write ${use.length === 1 ? use[0] : `${use.slice(0, -1).join(", ")} or ${use.at(-1)}`} (the upstream it belongs to), or set prefix: false on that upstream in ${config.file}.`,
        });
      });
    }
  }
  return out;
}

/** `file:line:col key: message`, as config warnings are printed. */
export function formatPolicyWarning(w: PolicyWarning): string {
  return `${w.file}:${w.line}:${w.col} ${w.key}: ${w.message}`;
}
