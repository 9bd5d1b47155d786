import type { ConfigChecker, GuardSpec } from "../config-types.js";
import { GUARD_ALLOW } from "../decision.js";
import type { Guard, GuardContext, GuardDecision, GuardTool } from "../types.js";
import {
  checkEnum,
  checkKeys,
  checkStringList,
  LIST_ACTIONS,
  type ListAction,
  stringList,
} from "./check.js";
import { type Flagged, listVerdict, toolText } from "./list-verdict.js";

/**
 * tool_poisoning: hidden instructions in tool descriptions and schemas. One precompiled regex
 * with a named group per category, run once over each tool's text (single pass).
 */
const SECRET_PATH = String.raw`(?:~\/\.ssh|\.ssh\/|id_(?:rsa|dsa|ecdsa|ed25519)\b|\.aws\/credentials|(?<![\w.])\.env\b|\/etc\/(?:passwd|shadow)|\.npmrc|\.netrc|\.git-credentials|\.pgpass|\.kube\/config|\.docker\/config\.json|mcp\.json|credentials\.json|(?:your|the\s+user'?s|user'?s|all|any|stored|saved)\s+(?:api[ _-]?keys?|access[ _-]tokens?|secret[ _-]keys?|passwords?|credentials|private[ _-]keys?|ssh[ _-]keys?))`;
const PARTS: Record<string, string> = {
  override: String.raw`\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+|the\s+|your\s+)?(?:previous|prior|above|earlier|preceding|system|safety|other|original)\s+(?:instructions?|prompts?|rules?|directions?|guidelines?|context|messages?)`,
  hidden_tag: String.raw`<\s*\/?\s*(?:important|system|instructions?|secret|hidden|admin)\s*>|\[\s*(?:system|important|instructions?)\s*\]`,
  concealment: String.raw`\b(?:do\s+not|don'?t|never|must\s+not)\s+(?:tell|inform|mention|reveal|show|notify|alert|disclose\s+(?:this|it)\s+to)\s+(?:this\s+to\s+|it\s+to\s+)?(?:the\s+)?user\b|\bwithout\s+(?:telling|informing|notifying|alerting|asking)\s+the\s+user\b|\bthe\s+user\s+(?:must|should)\s+not\s+(?:know|see|notice|be\s+told)\b`,
  secret_access: String.raw`\b(?:read|cat|open|load|access|include|send|upload|pass|attach|exfiltrate|copy|provide|append|forward|post|leak)\b[^.\n]{0,80}?${SECRET_PATH}|\bcontents?\s+of\s+[^.\n]{0,30}?${SECRET_PATH}`,
  model_directive: String.raw`\b(?:the\s+)?(?:assistant|ai|model|llm|agent|claude|chatgpt)\s+(?:must|should|shall|needs?\s+to|has\s+to|is\s+required\s+to)\s+(?:always\s+|first\s+|also\s+|now\s+|secretly\s+|silently\s+)?(?:call|invoke|use|read|send|include|ignore|pass|execute|run|forward|not\s+tell)\b|\byou\s+(?:must|should|shall|are\s+required\s+to|have\s+to|need\s+to)\s+(?:always|never|first|also|secretly|silently|immediately)\b|\byou\s+are\s+now\b|\bnew\s+instructions?\s*:`,
  tool_chaining: String.raw`\b(?:before|prior\s+to|after|instead\s+of|whenever|each\s+time)\s+(?:using|calling|invoking|running|you\s+(?:use|call|invoke|run))\s+(?:this|any|the|other)\b[^.\n]{0,80}?\b(?:call|invoke|use|run|execute|read|send)\b`,
  encoded_blob: String.raw`(?<![A-Za-z0-9+\/=_-])(?=[A-Za-z0-9+\/_-]*[0-9])(?=[A-Za-z0-9+\/_-]*[a-z])(?=[A-Za-z0-9+\/_-]*[A-Z])[A-Za-z0-9+\/_-]{100,}={0,2}|\b[0-9a-fA-F]{128,}\b`,
  invisible: String.raw`[\u{E0000}-\u{E007F}\u200B\u200C\u200D\u200E\u200F\u2060-\u2064\uFEFF\u202A-\u202E\u2066-\u2069\u00AD\u180E]`,
};
const CATEGORIES = Object.keys(PARTS);
const RE = new RegExp(
  Object.entries(PARTS)
    .map(([k, v]) => `(?<${k}>${v})`)
    .join("|"),
  "giu",
);
const PICTO = /\p{Extended_Pictographic}|\u{FE0F}/u;

const LABEL: Record<string, string> = {
  override: "tells the model to ignore its instructions",
  hidden_tag: "hidden instruction tag",
  concealment: "asks to hide something from the user",
  secret_access: "asks to read or send secrets",
  model_directive: "imperative aimed at the model",
  tool_chaining: "asks the model to call other tools",
  encoded_blob: "long encoded blob",
  invisible: "invisible Unicode characters",
};

/** Every finding in a text, as `category: excerpt` strings (empty when clean). */
export function scanPoisoning(text: string, enabled: ReadonlySet<string>): string[] {
  const out: string[] = [];
  RE.lastIndex = 0;
  for (let m = RE.exec(text); m !== null; m = RE.exec(text)) {
    const g = m.groups!;
    let cat = "";
    for (const c of CATEGORIES)
      if (g[c] !== undefined) {
        cat = c;
        break;
      }
    if (cat === "invisible" && m[0] === "\u200D") {
      // A zero-width joiner between two emoji is how emoji sequences are written: not hidden.
      const before = text.codePointAt(m.index - 1) ?? 0;
      const prev = before >= 0xdc00 && before <= 0xdfff ? text.codePointAt(m.index - 2) : before;
      const next = text.codePointAt(m.index + 1);
      if (
        prev !== undefined &&
        next !== undefined &&
        PICTO.test(String.fromCodePoint(prev)) &&
        PICTO.test(String.fromCodePoint(next))
      )
        continue;
    }
    if (!enabled.has(cat)) continue;
    const excerpt =
      cat === "invisible"
        ? `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")} at ${m.index}`
        : cat === "encoded_blob"
          ? `${m[0].length} characters`
          : JSON.stringify(m[0].length > 80 ? `${m[0].slice(0, 77)}...` : m[0]);
    const s = `${LABEL[cat]} (${excerpt})`;
    if (!out.includes(s)) out.push(s);
    if (out.length >= 8) break;
    if (m[0].length === 0) RE.lastIndex++;
  }
  return out;
}

const KEYS = ["action", "categories", "allow_tools"];

export const checkToolPoisoningConfig: ConfigChecker = (cfg, report) => {
  checkKeys(cfg, KEYS, report);
  checkEnum(cfg, "action", LIST_ACTIONS, report);
  checkStringList(cfg, "categories", report, CATEGORIES);
  checkStringList(cfg, "allow_tools", report);
};

export function createToolPoisoning(spec: GuardSpec): Guard {
  const action = (spec.config.action as ListAction | undefined) ?? "hide";
  const enabled = new Set(
    spec.config.categories === undefined ? CATEGORIES : stringList(spec.config.categories),
  );
  const allowTools = new Set(stringList(spec.config.allow_tools));
  return {
    id: spec.id,
    type: "tool_poisoning",
    evaluate(phase, payload, ctx: GuardContext): GuardDecision {
      if (phase !== "tools_list") return GUARD_ALLOW;
      const tools = payload as GuardTool[];
      let flagged: Flagged[] | undefined;
      for (let i = 0; i < tools.length; i++) {
        const t = tools[i]!;
        if (allowTools.has(t.name)) continue;
        const reasons = scanPoisoning(toolText(t), enabled);
        if (reasons.length > 0) (flagged ??= []).push({ index: i, name: t.name, reasons });
      }
      if (flagged === undefined) return GUARD_ALLOW;
      return listVerdict(action, tools, flagged, "tool_poisoned", "Tool poisoning", ctx.serverName);
    },
  };
}
