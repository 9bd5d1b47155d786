/**
 * A Warden security guard in JavaScript, built into a WebAssembly component with
 * componentize-js against the world mcp:security-guard/security-guard@0.1.0 (../../../wit).
 *
 * It hides (or blocks) tools whose name or description matches a configured pattern, refuses
 * calls whose arguments match one, and limits how often each tool may be called: the counts are
 * state kept by the guard's instance between invocations.
 *
 * Settings (warden.yaml `config:`, read with get-config):
 *   patterns: ["delete", "drop table"]       words or phrases, case-insensitive (fast)
 *   regex_patterns: ["drop\\s+table"]       regular expressions, case-insensitive (slower:
 *                                            the JS engine inside a component has no JIT)
 *   action: hide | block                     what to do with a matching tool (default hide)
 *   max_calls_per_tool: 100                  calls allowed per tool per instance (0 = no limit)
 *   blocked_servers: ["untrusted"]           servers refused at connection
 */
import { getConfig, getTime, log } from "mcp:security-guard/host@0.1.0";

const DEFAULTS = {
  patterns: ["delete", "drop table", "rm -rf"],
  regex_patterns: [],
  action: "hide",
  max_calls_per_tool: 0,
  blocked_servers: [],
};

// Settings are read once per instance (an instance is recreated when warden.yaml changes).
const settings = new Map();
function setting(key) {
  if (settings.has(key)) return settings.get(key);
  const raw = getConfig(key);
  let value = DEFAULTS[key];
  if (raw !== undefined) {
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
  }
  settings.set(key, value);
  return value;
}

// Lowercased and compiled once per instance, on first use.
let words;
let regexes;
function matching(text) {
  words ??= setting("patterns").map((p) => p.toLowerCase());
  regexes ??= setting("regex_patterns").map((p) => new RegExp(p, "i"));
  // Index loops: the engine inside a component interprets, and for...of costs an iterator.
  const lower = text.toLowerCase();
  for (let i = 0; i < words.length; i++) if (lower.includes(words[i])) return words[i];
  for (let i = 0; i < regexes.length; i++) if (regexes[i].test(text)) return regexes[i].source;
  return undefined;
}

// State: calls per tool, kept as long as this instance lives.
const calls = new Map();

export const guard = {
  evaluateServerConnection(server, _context) {
    if (setting("blocked_servers").includes(server.name))
      return {
        tag: "deny",
        val: {
          code: "server_blocked",
          message: `server ${server.name} is blocked by the pattern guard`,
        },
      };
    return { tag: "allow" };
  },

  evaluateToolsList(tools, context) {
    const hits = [];
    for (let i = 0; i < tools.length; i++) {
      const tool = tools[i];
      const p = matching(`${tool.name}\n${tool.description ?? ""}`);
      if (p !== undefined) hits.push({ tool, p });
    }
    if (hits.length === 0) return { tag: "allow" };
    log(3, `${context.serverName}: ${hits.length} tool(s) match a blocked pattern`);
    if (setting("action") === "block") {
      const names = hits.map((h) => h.tool.name);
      return {
        tag: "deny",
        val: {
          code: "blocked_tool",
          message: `tools ${names.join(", ")} of ${context.serverName} match a blocked pattern`,
          details: JSON.stringify({ tools: names, patterns: hits.map((h) => h.p) }),
        },
      };
    }
    const hidden = new Set(hits.map((h) => h.tool));
    const kept = tools
      .filter((t) => !hidden.has(t))
      .map((t) => ({
        name: t.name,
        description: t.description,
        inputSchema: JSON.parse(t.inputSchema),
        ...JSON.parse(t.extra),
      }));
    return { tag: "modify", val: JSON.stringify(kept) };
  },

  evaluateToolInvoke(invocation, context) {
    const p = matching(invocation.arguments);
    if (p !== undefined)
      return {
        tag: "deny",
        val: {
          code: "blocked_argument",
          message: `the arguments of ${invocation.toolName} match the blocked pattern "${p}"`,
        },
      };
    const max = setting("max_calls_per_tool");
    const key = `${context.serverName}/${invocation.toolName}`;
    const n = (calls.get(key) ?? 0) + 1;
    calls.set(key, n);
    if (max > 0 && n > max)
      return {
        tag: "deny",
        val: {
          code: "too_many_calls",
          message: `${invocation.toolName} was called ${n} times (limit ${max})`,
          details: JSON.stringify({ calls: n, at: Number(getTime()) }),
        },
      };
    return { tag: "allow" };
  },

  evaluateResponse(response, _context) {
    const p = matching(response.output);
    if (p !== undefined)
      return { tag: "warn", val: [`the result of ${response.toolName} matches "${p}"`] };
    return { tag: "allow" };
  },

  getSettingsSchema() {
    return JSON.stringify({
      type: "object",
      properties: {
        patterns: { type: "array", items: { type: "string" } },
        regex_patterns: { type: "array", items: { type: "string" } },
        action: { enum: ["hide", "block"] },
        max_calls_per_tool: { type: "integer", minimum: 0 },
        blocked_servers: { type: "array", items: { type: "string" } },
      },
      additionalProperties: false,
    });
  },

  getDefaultConfig() {
    return JSON.stringify(DEFAULTS);
  },
};
