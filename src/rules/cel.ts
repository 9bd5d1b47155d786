/**
 * CEL conditions (`condition: 'action_type == "payment" && wasm("fraud-scorer", "evaluate")'`)
 * on @marcbachmann/cel-js (docs/rules.md says why this library). One environment declares the
 * plugin input's variables (tenant, provider, action_type: string; payload, metadata: map) and
 * `wasm(plugin, function): bool`. An expression is parsed and type-checked once, at load; its
 * result type must be bool. `namespace` is a reserved word in CEL: test it with a YAML
 * condition.
 *
 * `matches()` is refused: the library runs it with JavaScript's backtracking RegExp, compiled
 * on every call, so a pattern could hang the gateway (ReDoS). The `matches` operator of a YAML
 * condition is RE2, linear in the input.
 */
import { type ASTNode, Environment } from "@marcbachmann/cel-js";
import type { ActionContext, RulePlugins, WasmDetails } from "./types.js";

/** What one evaluation hands the `wasm()` function: the input, the plugins, and the trace. */
interface Run {
  ctx: ActionContext;
  plugins: RulePlugins | undefined;
  details: WasmDetails[] | undefined;
  failure: unknown;
}

let run: Run | null = null;

/** Called by the rules engine for each wasm() call of an expression being evaluated. */
export type WasmCall = (r: Run, plugin: string, fn: string) => boolean;
let wasmCall: WasmCall = () => false;
export function setWasmCall(f: WasmCall): void {
  wasmCall = f;
}

const ENV = new Environment({ unlistedVariablesAreDyn: false })
  .registerVariable("tenant", "string")
  .registerVariable("provider", "string")
  .registerVariable("action_type", "string")
  .registerVariable("payload", "map")
  .registerVariable("metadata", "map")
  .registerFunction("wasm(string, string): bool", (plugin: string, fn: string) => {
    const r = run;
    if (r === null) throw new Error("wasm() called outside a rule evaluation");
    return wasmCall(r, plugin, fn);
  });

/** Where in the expression a problem is: offsets into the expression's text. */
export interface CelProblem {
  start: number;
  message: string;
}

export interface CompiledCel {
  readonly expression: string;
  /** The plugins it calls (`wasm("name", "fn")`), for messages. */
  readonly plugins: readonly { plugin: string; fn: string }[];
  evaluate(ctx: ActionContext, plugins: RulePlugins | undefined, details?: WasmDetails[]): unknown;
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.trim();
}

type Node = ASTNode & { op: string; args: unknown; start: number };

/** Every call in the tree: what matches() and wasm() are checked against. */
function calls(node: unknown, out: Node[]): void {
  if (node === null || typeof node !== "object") return;
  if (Array.isArray(node)) {
    for (const n of node) calls(n, out);
    return;
  }
  const n = node as Node;
  if (typeof n.op !== "string") return;
  if (n.op === "call" || n.op === "rcall") out.push(n);
  calls(n.args, out);
}

/** Parse and type-check `expression`, or say what is wrong and where. */
export function compileCel(expression: string): CompiledCel | CelProblem {
  let parsed: ReturnType<Environment["parse"]>;
  try {
    parsed = ENV.parse(expression);
  } catch (e) {
    const err = e as { message: string; range?: { start: number } };
    return { start: err.range?.start ?? 0, message: firstLine(err.message) };
  }
  const checked = parsed.check();
  if (!checked.valid) {
    const err = checked.error as { message: string; range?: { start: number } } | undefined;
    return { start: err?.range?.start ?? 0, message: firstLine(err?.message ?? "type error") };
  }
  if (checked.type !== "bool" && checked.type !== "dyn")
    return {
      start: 0,
      message: `the condition is of type ${checked.type}; a rule's condition must be a bool (compare it: == , >, in ...)`,
    };
  const plugins: { plugin: string; fn: string }[] = [];
  const found: Node[] = [];
  calls(parsed.ast, found);
  for (const c of found) {
    const args = c.args as unknown[];
    const name = args[0];
    if (name === "matches")
      return {
        start: c.start,
        message:
          "matches() is not allowed in CEL rules (the CEL library matches with a backtracking RegExp, which a pattern can hang); use a YAML condition {field, operator: matches, value: PATTERN}, which is RE2 (linear time)",
      };
    if (name === "wasm" && c.op === "call") {
      const list = args[1] as Node[];
      const lit = list.map((a) => (a.op === "value" && typeof a.args === "string" ? a.args : null));
      const [plugin, fn] = lit;
      if (lit.length !== 2 || typeof plugin !== "string" || typeof fn !== "string")
        return {
          start: c.start,
          message: 'wasm() takes two string literals: wasm("plugin", "function")',
        };
      plugins.push({ plugin, fn });
    }
  }
  const compiled: CompiledCel = {
    expression,
    plugins: Object.freeze(plugins),
    evaluate(ctx, p, details) {
      const previous = run;
      const r: Run = { ctx, plugins: p, details, failure: undefined };
      run = r;
      try {
        return parsed(ctx as unknown as Record<string, unknown>);
      } catch (e) {
        throw r.failure ?? e;
      } finally {
        run = previous;
      }
    },
  };
  return Object.freeze(compiled);
}

export type { Run as CelRun };
