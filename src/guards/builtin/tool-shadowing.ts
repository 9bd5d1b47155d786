import type { GuardSpec } from "../config-types.js";
import { GUARD_ALLOW } from "../decision.js";
import type { Guard, GuardDecision, GuardTool } from "../types.js";
import { type ListAction, stringList } from "./check.js";
import { type Flagged, listVerdict, toolText } from "./list-verdict.js";

/**
 * tool_shadowing: a server's tool description that refers to another server's tools or tries
 * to change how they are used. The guard remembers every server's tool names from the listings
 * it judged (its instance state) and knows every upstream's name from the context.
 */
const BEHAVIOUR = String.raw`\b(?:when|whenever|if|before|after|instead\s+of|rather\s+than|do\s+not\s+use|don'?t\s+use|never\s+use|always|must|should|shall|override|overrides|replace|replaces|redirect|side\s+effect|important)\b`;
const GENERIC = new RegExp(
  [
    // "the send_email tool must ...", "any other tool should ..."
    String.raw`\b(?:the|any|all|every)\s+(?:other\s+)?` +
      "`?[\\w.-]+`?" +
      String.raw`\s+tools?\s+(?:must|should|shall|will\s+now|needs?\s+to|has\s+to)\b`,
    // "when (you|the user) (call|use)s another/other tool(s)"
    String.raw`\b(?:when|whenever|if|before|after)\b[^.\n]{0,60}\b(?:other|another|any\s+other|all\s+other|different)\s+(?:tools?|servers?)\b`,
    // "instead of / do not use / override ... tool|server"
    String.raw`\b(?:instead\s+of\s+(?:using|calling)|do\s+not\s+use|don'?t\s+use|never\s+use|overrides?|shadows?|takes?\s+precedence\s+over)\b[^.\n]{0,40}\b(?:tools?|servers?)\b`,
    // "side effect on the ... tool"
    String.raw`\bside\s+effects?\s+on\b[^.\n]{0,40}\btools?\b`,
  ].join("|"),
);
/**
 * The patterns are lowercase and run on the lowercased text without the `i` flag (which costs
 * several times more in V8's irregexp); names are lowercased when their regex is built.
 */
const BEHAVIOUR_RE = new RegExp(BEHAVIOUR);

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const _KEYS = ["action", "allow_references"];
const MEMO_MAX = 4096;

export function createToolShadowing(spec: GuardSpec): Guard {
  const action = (spec.config.action as ListAction | undefined) ?? "hide";
  const allowRefs = new Set(stringList(spec.config.allow_references).map((s) => s.toLowerCase()));
  /** Lowercased names in the regexes -> as written (for messages). */
  const written = new Map<string, string>();
  /** server -> its tool names, from the listings seen. */
  const toolsOf = new Map<string, Set<string>>();
  /** server -> a regex of every other server's tool names and server names (rebuilt on change). */
  const others = new Map<string, RegExp | null>();
  let generation = 0;
  let builtAt = -1;
  let knownKey = "";
  let knownRef: readonly string[] | undefined;

  function othersRe(server: string, known: readonly string[]): RegExp | null {
    // Hosts pass the same (frozen) list every time: compare it by reference first.
    const kk = known === knownRef ? knownKey : known.join("\u0000");
    knownRef = known;
    if (builtAt !== generation || kk !== knownKey) {
      others.clear();
      written.clear();
      builtAt = generation;
      knownKey = kk;
    }
    const hit = others.get(server);
    if (hit !== undefined) return hit;
    const own = toolsOf.get(server) ?? new Set<string>();
    const distinct = new Set<string>();
    const plain = new Set<string>();
    for (const [s, tools] of toolsOf) {
      if (s === server) continue;
      for (const t of tools) {
        if (t.length < 3 || own.has(t) || allowRefs.has(t.toLowerCase())) continue;
        // snake_case, kebab-case or camelCase names are distinctive; plain words ("search")
        // count only as `search`, "search" or "the search tool".
        if (/[_-]|[a-z][A-Z]/.test(t)) distinct.add(t);
        else plain.add(t);
      }
    }
    const servers = known.filter(
      (s) => s !== server && s.length >= 2 && !allowRefs.has(s.toLowerCase()),
    );
    const alt = (set: Iterable<string>) =>
      [
        ...new Set(
          [...set].map((n) => {
            const l = n.toLowerCase();
            written.set(l, n);
            return l;
          }),
        ),
      ]
        .sort((a, b) => b.length - a.length)
        .map(escapeRe)
        .join("|");
    const parts: string[] = [];
    if (distinct.size > 0) parts.push(`(?<![\\w-])(${alt(distinct)})(?![\\w-])`);
    if (plain.size > 0)
      parts.push(`[\`'"](${alt(plain)})[\`'"]|(?<![\\w-])(${alt(plain)})\\s+tool\\b`);
    if (servers.length > 0)
      parts.push(`(?<![\\w-])(${alt(servers)})(?:__[\\w-]+|\\s+(?:mcp\\s+)?(?:server|tools?)\\b)`);
    const re = parts.length === 0 ? null : new RegExp(parts.join("|"), "g");
    others.set(server, re);
    return re;
  }

  function learn(server: string, names: readonly string[]): void {
    const prev = toolsOf.get(server);
    if (prev !== undefined && prev.size === names.length && names.every((n) => prev.has(n))) return;
    toolsOf.set(server, new Set(names));
    generation++;
  }

  /** What is wrong with one tool's text, judged with the other servers' names in `re`. */
  function judge(text: string, re: RegExp | null): string[] | undefined {
    const lower = text.toLowerCase();
    // Excerpts in the writer's case when lowercasing kept every offset (it nearly always does).
    const shown = lower.length === text.length ? text : lower;
    let reasons: string[] | undefined;
    if (re !== null) {
      re.lastIndex = 0;
      for (let m = re.exec(lower); m !== null; m = re.exec(lower)) {
        // A name from elsewhere, in a sentence that tries to steer behaviour.
        const start = Math.max(lower.lastIndexOf(".", m.index) + 1, m.index - 160);
        const endDot = lower.indexOf(".", m.index + m[0].length);
        const end = endDot < 0 ? m.index + 160 : Math.min(endDot, m.index + 160);
        if (BEHAVIOUR_RE.test(lower.slice(start, end))) {
          const found = m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[0];
          const name = written.get(found) ?? found;
          (reasons ??= []).push(
            `refers to "${name}" of another server: ${JSON.stringify(shown.slice(start, end).trim().slice(0, 100))}`,
          );
          break;
        }
      }
    }
    const g = GENERIC.exec(lower);
    if (g !== null)
      (reasons ??= []).push(
        `tries to change how other tools are used: ${JSON.stringify(shown.slice(g.index, g.index + g[0].length).slice(0, 100))}`,
      );
    return reasons;
  }

  /** server -> tool -> the last text judged, with the regex it was judged with. */
  const memo = new Map<
    string,
    Map<string, { text: string; re: RegExp | null; reasons: string[] | undefined }>
  >();
  let memoSize = 0;

  return {
    id: spec.id,
    type: "tool_shadowing",
    evaluate(phase, payload, ctx): GuardDecision {
      if (phase !== "tools_list") return GUARD_ALLOW;
      const tools = payload as GuardTool[];
      const server = ctx.serverName;
      // Remember this server's tools (instance state, used when judging the other servers),
      // and the other servers' tools of the same merged listing, which the host passes in
      // peerTools: a server judged before its peers is checked against their names too.
      learn(
        server,
        tools.map((t) => t.name),
      );
      if (ctx.peerTools !== undefined)
        for (const s in ctx.peerTools) if (s !== server) learn(s, ctx.peerTools[s]!);
      const re = othersRe(server, ctx.knownServers ?? []);
      let flagged: Flagged[] | undefined;
      let seen = memo.get(server);
      if (seen === undefined) memo.set(server, (seen = new Map()));
      for (let i = 0; i < tools.length; i++) {
        const t = tools[i]!;
        const text = toolText(t);
        // The same text judged with the same regex (no server's names changed since) gives
        // the same answer: remember the last one per tool, as tool_poisoning does.
        const last = seen.get(t.name);
        let reasons: string[] | undefined;
        if (last !== undefined && last.re === re && last.text === text) reasons = last.reasons;
        else {
          reasons = judge(text, re);
          if (last !== undefined) {
            last.text = text;
            last.re = re;
            last.reasons = reasons;
          } else {
            if (++memoSize > MEMO_MAX) {
              memo.clear();
              memo.set(server, seen);
              seen.clear();
              memoSize = 1;
            }
            seen.set(t.name, { text, re, reasons });
          }
        }
        if (reasons !== undefined) (flagged ??= []).push({ index: i, name: t.name, reasons });
      }
      if (flagged === undefined) return GUARD_ALLOW;
      return listVerdict(action, tools, flagged, "tool_shadowing", "Tool shadowing", server);
    },
  };
}
