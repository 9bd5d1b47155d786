import { GUARD_ALLOW, guardDeny, guardModify, guardWarn } from "../decision.js";
import type { GuardDecision, GuardTool } from "../types.js";
import type { ListAction } from "./check.js";

export interface Flagged {
  /** Index in the listed tools. */
  index: number;
  name: string;
  reasons: string[];
}

/**
 * Turn the tools a guard flagged into its decision: `hide` drops them from the list (modify),
 * `block` refuses the whole listing (deny), `warn` lets it through with warnings.
 */
export function listVerdict(
  action: ListAction,
  tools: readonly GuardTool[],
  flagged: readonly Flagged[],
  code: string,
  what: string,
  server: string,
): GuardDecision {
  if (flagged.length === 0) return GUARD_ALLOW;
  const messages = flagged.map(
    (f) => `${what}: tool "${f.name}" of server "${server}": ${f.reasons.join("; ")}`,
  );
  if (action === "block") {
    const names = flagged.map((f) => f.name);
    return guardDeny(
      code,
      `${what} in ${flagged.length === 1 ? "tool" : "tools"} ${names.map((n) => `"${n}"`).join(", ")} of server "${server}": ${flagged[0]!.reasons[0]}`,
      { server, tools: flagged.map((f) => ({ name: f.name, reasons: f.reasons })) },
    );
  }
  if (action === "warn") return guardWarn(messages);
  const drop = new Set(flagged.map((f) => f.index));
  return guardModify(
    tools.filter((_, i) => !drop.has(i)),
    messages.map((m) => `${m} (hidden)`),
  );
}

/** Every string in a JSON value (schema descriptions, titles, defaults, enums), depth-first. */
export function collectStrings(value: unknown, out: string[], depth = 0): void {
  if (depth > 32) return;
  if (typeof value === "string") {
    out.push(value);
  } else if (Array.isArray(value)) {
    for (const v of value) collectStrings(v, out, depth + 1);
  } else if (typeof value === "object" && value !== null) {
    for (const k in value) collectStrings((value as Record<string, unknown>)[k], out, depth + 1);
  }
}

/**
 * The text of a tool a guard reads: its name, title and description, and its input schema and
 * annotations as JSON (one native JSON.stringify is far cheaper than walking the schema, and
 * keeps every description, title, default and enum value in the text).
 */
export function toolText(tool: GuardTool): string {
  let text = typeof tool.description === "string" ? tool.description : "";
  const title = (tool as { title?: unknown }).title;
  if (typeof title === "string") text += `\n${title}`;
  if (tool.inputSchema !== undefined) text += `\n${JSON.stringify(tool.inputSchema)}`;
  const ann = (tool as { annotations?: unknown }).annotations;
  if (ann !== undefined) text += `\n${JSON.stringify(ann)}`;
  return text;
}
