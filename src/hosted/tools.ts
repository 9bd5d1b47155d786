/**
 * A component's exported functions as MCP tools: the name rule, the description, the input and
 * output schemas (./schema.ts), and the refusals at load (resources, name collisions).
 *
 * Names: `<interface>.<function>` for a function of an exported interface (the interface's short
 * name: `types.ints` for `warden:kitchen/types@0.1.0`), `<function>` for a world-level export.
 * WIT identifiers are already made of [a-z0-9-] (and capitals); anything outside the MCP
 * tool-name alphabet [A-Za-z0-9_.-] becomes `_`, and names longer than 128 characters are
 * refused. Two functions with the same tool name (in one component or across a folder) are
 * refused at load, naming both.
 */
import { WardenError } from "../core/errors.js";
import { camel } from "./convert.js";
import { type JsonSchema, schemaOf, unmappable } from "./schema.js";
import type { WitFunction, WitParam, WitType } from "./wit/types.js";

/** What the worker needs to call one function. */
export interface ToolCallSpec {
  /** The tool's MCP name. */
  readonly name: string;
  /** The key of the export object jco's instantiate returns (`warden:kitchen/types@0.1.0`), or null. */
  readonly exportKey: string | null;
  /** The interface's short name, a second key jco sets (`types`). */
  readonly exportShort: string | null;
  /** The function's JS name (`getWeather`). */
  readonly jsName: string;
  readonly params: readonly WitParam[];
  readonly result?: WitType;
}

export interface HostedTool {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: JsonSchema;
  readonly outputSchema?: JsonSchema;
  readonly call: ToolCallSpec;
}

export const TOOL_NAME_MAX = 128;

export function toolName(f: WitFunction): string {
  const raw = f.interfaceShort === null ? f.name : `${f.interfaceShort}.${f.name}`;
  return raw.replace(/[^A-Za-z0-9_.-]/g, "_");
}

function refuse(component: string, file: string, message: string, details: object): never {
  throw new WardenError(
    "hosted_function_refused",
    `component "${component}" (${file}): ${message}`,
    {
      category: "plugin",
      details: { component, file, ...details },
    },
  );
}

/** The ok type of a function's own result (the tool's structured result), or its plain result. */
export function okType(t: WitType | undefined): WitType | undefined {
  return t?.kind === "result" ? t.ok : t;
}

export function toolOf(component: string, file: string, f: WitFunction): HostedTool {
  const name = toolName(f);
  const where = `${f.interface ?? "world"} function ${f.name}`;
  if (name.length > TOOL_NAME_MAX)
    refuse(component, file, `the tool name ${name} is longer than ${TOOL_NAME_MAX} characters`, {
      function: name,
    });
  if (f.async)
    refuse(component, file, `${where} is async, which Warden does not run yet`, { function: name });
  for (const p of f.params) {
    const why = unmappable(p.type);
    if (why !== undefined)
      refuse(
        component,
        file,
        `${where} takes parameter ${p.name}: ${why}, which a tool's JSON arguments cannot carry; export a function without resources or handles`,
        { function: name, parameter: p.name },
      );
  }
  if (f.result !== undefined) {
    const why = unmappable(f.result);
    if (why !== undefined)
      refuse(component, file, `${where} returns ${why}, which a tool's JSON answer cannot carry`, {
        function: name,
      });
  }
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const p of f.params) {
    properties[p.name] = schemaOf(p.type);
    if (p.type.kind !== "option") required.push(p.name);
  }
  const inputSchema: JsonSchema = {
    type: "object",
    properties,
    required,
    additionalProperties: false,
  };
  const ok = okType(f.result);
  const description =
    f.docs ??
    `${f.name}, exported by component ${component}${f.interface ? ` (${f.interface})` : ""}.`;
  return {
    name,
    description,
    inputSchema,
    ...(ok === undefined
      ? {}
      : {
          outputSchema: {
            type: "object",
            properties: { result: schemaOf(ok) },
            required: ["result"],
            additionalProperties: false,
          },
        }),
    call: {
      name,
      exportKey: f.interface,
      exportShort: f.interfaceShort,
      jsName: camel(f.name),
      params: f.params,
      ...(f.result === undefined ? {} : { result: f.result }),
    },
  };
}

/** Refuse two tools with the same name, naming both places. */
export function checkCollisions(
  tools: readonly { tool: HostedTool; component: string; file: string }[],
): void {
  const seen = new Map<string, { component: string; file: string }>();
  for (const t of tools) {
    const prev = seen.get(t.tool.name);
    if (prev !== undefined)
      throw new WardenError(
        "hosted_name_collision",
        `tool ${t.tool.name} is exported by component "${prev.component}" (${prev.file}) and by component "${t.component}" (${t.file}); serve them separately or rename one export`,
        {
          category: "config",
          details: { tool: t.tool.name, components: [prev.file, t.file] },
        },
      );
    seen.set(t.tool.name, t);
  }
}
