import type { GuardSpec } from "../config-types.js";
import { GUARD_ALLOW } from "../decision.js";
import type { Guard, GuardContext, GuardDecision, GuardTool } from "../types.js";
import { type ListAction, stringList } from "./check.js";
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
};
/** The patterns of the text categories (for tests that check the fast scan against them). */
export const POISONING_PATTERNS: Readonly<Record<string, string>> = Object.freeze({ ...PARTS });
const TEXT_CATEGORIES = Object.keys(PARTS);
const CATEGORIES = [...TEXT_CATEGORIES, "encoded_blob", "invisible"];
/**
 * One sticky regex for the text categories, run on the lowercased text with neither the `i`
 * nor the `u` flag (both cost 5 to 10x here, V8 irregexp; every pattern above is lowercase),
 * and only where a match can start: see TRIGGERS.
 */
const TEXT_RE = new RegExp(
  `(?:${Object.entries(PARTS)
    .map(([k, v]) => `(?<${k}>${v})`)
    .join("|")})`,
  "y",
);
/**
 * Every alternative above starts with `<`, `[`, or one of these whole words (after `\b`, and
 * followed by a space, an apostrophe or `\b`). Scanning the text once for them, by a hash of
 * each word computed as it is read, and trying the regex only there, costs a fraction of letting
 * the regex try every word boundary; most clean descriptions hold one or two of them ("the",
 * "read"). test/guards/builtin/tool-poisoning.test.ts checks this scan against the plain global
 * regex on the corpus and on generated text.
 */
const TRIGGERS = [
  // override
  "ignore",
  "disregard",
  "forget",
  "override",
  "bypass",
  // concealment
  "do",
  "don",
  "dont",
  "never",
  "must",
  "without",
  "the",
  // secret_access
  "read",
  "cat",
  "open",
  "load",
  "access",
  "include",
  "send",
  "upload",
  "pass",
  "attach",
  "exfiltrate",
  "copy",
  "provide",
  "append",
  "forward",
  "post",
  "leak",
  "content",
  "contents",
  // model_directive
  "assistant",
  "ai",
  "model",
  "llm",
  "agent",
  "claude",
  "chatgpt",
  "you",
  "new",
  // tool_chaining
  "before",
  "prior",
  "after",
  "instead",
  "whenever",
  "each",
];
/**
 * Where a text pattern can start: one of TRIGGERS as a whole word, `<` or `[`. A plain
 * alternation of words is what irregexp scans fastest (about half the cost of the patterns
 * themselves trying every word boundary).
 */
const TRIGGER_RE = new RegExp(
  `\\b(?:${[...TRIGGERS].sort((x, y) => y.length - x.length).join("|")})(?!\\w)|[<[]`,
  "g",
);

/** Base64 (standard and URL-safe) and hex characters: runs of 100+ of them are blobs. */
const BLOB_CHAR = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_=-")
  BLOB_CHAR[c.charCodeAt(0)] = 1;
const BLOB_MIN = 100;
const HEX_RE = /^[0-9a-fA-F]+$/;
/** Tag characters (U+E0000-E007F, as surrogate pairs), zero-width and bidi controls. */
const INVISIBLE_RE =
  /[\u200B-\u200F\u2060-\u2064\uFEFF\u202A-\u202E\u2066-\u2069\u00AD\u180E]|\uDB40[\uDC00-\uDC7F]/g;
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

function push(out: string[], cat: string, excerpt: string): void {
  const s = `${LABEL[cat]} (${excerpt})`;
  if (!out.includes(s) && out.length < 8) out.push(s);
}

/** A zero-width joiner between two emoji is how emoji sequences are written: not hidden. */
function emojiJoiner(text: string, i: number): boolean {
  const before = text.charCodeAt(i - 1);
  const prev =
    before >= 0xdc00 && before <= 0xdfff ? text.codePointAt(i - 2) : text.codePointAt(i - 1);
  const next = text.codePointAt(i + 1);
  return (
    prev !== undefined &&
    next !== undefined &&
    PICTO.test(String.fromCodePoint(prev)) &&
    PICTO.test(String.fromCodePoint(next))
  );
}

/** Shared (frozen) result for clean text, most tools: no array per clean tool in the memo. */
const CLEAN = Object.freeze([]) as unknown as string[];

function isBlobChar(c: number): boolean {
  return c < 128 && BLOB_CHAR[c] === 1;
}

/**
 * Runs of BLOB_MIN+ blob characters, probing one character in every BLOB_MIN: a run that long
 * must cover a probe, so clean text costs about length / BLOB_MIN reads instead of one per
 * character. A probe that hits a blob character is extended both ways to its whole run.
 */
function scanBlobs(text: string, out: string[]): void {
  const len = text.length;
  let i = BLOB_MIN - 1;
  while (i < len) {
    if (!isBlobChar(text.charCodeAt(i))) {
      i += BLOB_MIN;
      continue;
    }
    let start = i;
    while (start > 0 && isBlobChar(text.charCodeAt(start - 1))) start--;
    let end = i + 1;
    while (end < len && isBlobChar(text.charCodeAt(end))) end++;
    if (end - start >= BLOB_MIN) {
      const v = text.slice(start, end);
      const blob = HEX_RE.test(v)
        ? v.length >= 128
        : /[0-9]/.test(v) && /[a-z]/.test(v) && /[A-Z]/.test(v);
      if (blob) push(out, "encoded_blob", `${v.length} characters`);
    }
    // text[end] is not a blob character: the next run long enough covers end + BLOB_MIN.
    i = end + BLOB_MIN;
  }
}

/** Every finding in a text, as `label (excerpt)` strings (empty when clean). Single pass each. */
export function scanPoisoning(text: string, enabled: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const lower = text.toLowerCase();
  TRIGGER_RE.lastIndex = 0;
  for (let t = TRIGGER_RE.exec(lower); t !== null; t = TRIGGER_RE.exec(lower)) {
    TEXT_RE.lastIndex = t.index;
    const m = TEXT_RE.exec(lower);
    if (m === null) continue;
    const g = m.groups!;
    let cat = "";
    for (const k of TEXT_CATEGORIES)
      if (g[k] !== undefined) {
        cat = k;
        break;
      }
    if (enabled.has(cat))
      push(out, cat, JSON.stringify(m[0].length > 80 ? `${m[0].slice(0, 77)}...` : m[0]));
    // Go on after the match, as a global regex would (a word cut by it starts no pattern).
    const end = t.index + m[0].length;
    if (end > TRIGGER_RE.lastIndex) TRIGGER_RE.lastIndex = end;
  }
  if (enabled.has("encoded_blob") && text.length >= BLOB_MIN) scanBlobs(text, out);
  if (enabled.has("invisible")) {
    INVISIBLE_RE.lastIndex = 0;
    for (let m = INVISIBLE_RE.exec(text); m !== null; m = INVISIBLE_RE.exec(text)) {
      if (m[0] === "\u200D" && emojiJoiner(text, m.index)) continue;
      push(
        out,
        "invisible",
        `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")} at ${m.index}`,
      );
    }
  }
  return out.length === 0 ? CLEAN : out;
}

const _KEYS = ["action", "categories", "allow_tools"];
const MEMO_MAX = 4096;

export function createToolPoisoning(spec: GuardSpec): Guard {
  const action = (spec.config.action as ListAction | undefined) ?? "hide";
  const enabled = new Set(
    spec.config.categories === undefined ? CATEGORIES : stringList(spec.config.categories),
  );
  const allowTools = new Set(stringList(spec.config.allow_tools));
  // Findings are a pure function of a tool's text, and every session lists the same tools
  // again: remember the last text of each server's tool and what it held. Keyed by server and
  // tool name (short strings, cheap to hash), not by the text: hashing and keeping every text
  // cost more than scanning it when tools are new. A changed text fails the comparison on its
  // length or first differing character, and is scanned. Bounded; cleared when full.
  const memo = new Map<string, Map<string, { text: string; reasons: string[] }>>();
  let memoSize = 0;
  return {
    id: spec.id,
    type: "tool_poisoning",
    evaluate(phase, payload, ctx: GuardContext): GuardDecision {
      if (phase !== "tools_list") return GUARD_ALLOW;
      const tools = payload as GuardTool[];
      let flagged: Flagged[] | undefined;
      let seen = memo.get(ctx.serverName);
      if (seen === undefined) memo.set(ctx.serverName, (seen = new Map()));
      for (let i = 0; i < tools.length; i++) {
        const t = tools[i]!;
        if (allowTools.has(t.name)) continue;
        const text = toolText(t);
        const last = seen.get(t.name);
        let reasons: string[];
        if (last !== undefined && last.text === text) reasons = last.reasons;
        else {
          reasons = scanPoisoning(text, enabled);
          if (last !== undefined) {
            last.text = text;
            last.reasons = reasons;
          } else {
            if (++memoSize > MEMO_MAX) {
              memo.clear();
              memo.set(ctx.serverName, seen);
              seen.clear();
              memoSize = 1;
            }
            seen.set(t.name, { text, reasons });
          }
        }
        if (reasons.length > 0) (flagged ??= []).push({ index: i, name: t.name, reasons });
      }
      if (flagged === undefined) return GUARD_ALLOW;
      return listVerdict(action, tools, flagged, "tool_poisoned", "Tool poisoning", ctx.serverName);
    },
  };
}
