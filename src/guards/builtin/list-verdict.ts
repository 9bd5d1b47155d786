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
 * JSON Schema and MCP annotation keywords: as keys they carry no text of the server's choosing,
 * so the text of a tool leaves them out. Any other key (a property name, a vendor extension) is
 * text a server wrote, and is read like a value.
 */
const KEYWORDS = new Set([
  "type",
  "properties",
  "description",
  "title",
  "required",
  "items",
  "default",
  "enum",
  "examples",
  "const",
  "format",
  "pattern",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
  "additionalProperties",
  "additionalItems",
  "patternProperties",
  "propertyNames",
  "dependentRequired",
  "dependentSchemas",
  "anyOf",
  "oneOf",
  "allOf",
  "not",
  "if",
  "then",
  "else",
  "$schema",
  "$id",
  "$ref",
  "$defs",
  "$comment",
  "definitions",
  "readOnly",
  "writeOnly",
  "deprecated",
  "nullable",
  "contentMediaType",
  "contentEncoding",
  "readOnlyHint",
  "destructiveHint",
  "idempotentHint",
  "openWorldHint",
]);

/**
 * Separates the strings of a schema in a tool's text: neither whitespace, a word character, a
 * dot nor a newline, like the `","` between values in JSON, so a sentence split over two fields
 * (a description, then a default) still reads as one.
 */
const SEP = "\u001f";

/** Append every string of a JSON value (and every key that is not a keyword) to `text`. */
function schemaText(value: unknown, text: string, depth: number): string {
  if (depth > 32) return text;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (typeof v === "string") text += SEP + v;
      else if (typeof v === "object" && v !== null) text = schemaText(v, text, depth + 1);
    }
    return text;
  }
  const o = value as Record<string, unknown>;
  for (const k in o) {
    if (!KEYWORDS.has(k)) text += SEP + k;
    const v = o[k];
    if (typeof v === "string") text += SEP + v;
    else if (typeof v === "object" && v !== null) text = schemaText(v, text, depth + 1);
  }
  return text;
}

/**
 * The text of a tool a guard reads: its description and title, and every string of its
 * input schema and annotations (descriptions, titles, defaults, enum values, property names and
 * any other key a server chose). Walking the schema costs about a sixth of JSON.stringify, and
 * leaves out the punctuation and keywords that only slowed the scans down.
 */
export function toolText(tool: GuardTool): string {
  let text = typeof tool.description === "string" ? tool.description : "";
  const title = (tool as { title?: unknown }).title;
  if (typeof title === "string") text += `\n${title}`;
  const schema = tool.inputSchema as unknown;
  if (typeof schema === "object" && schema !== null) text = schemaText(schema, `${text}\n`, 0);
  else if (typeof schema === "string") text += `\n${schema}`;
  const ann = (tool as { annotations?: unknown }).annotations;
  if (typeof ann === "object" && ann !== null) text = schemaText(ann, `${text}\n`, 0);
  else if (typeof ann === "string") text += `\n${ann}`;
  return text;
}
