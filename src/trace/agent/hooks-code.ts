/**
 * Code made from strings: `eval`, `new Function` (and `Function(...)`), and the `vm` module's
 * compile-and-run functions, hooked only where the policy's `nodejs` section names them (a
 * program whose policy does not mention them pays nothing). Each call is judged by name with
 * the code as its argument (`{ "eval": ["*require(*"] }` constrains it), reported, and a blocked
 * one fails as the runtime's own refusal to generate code does (EvalError, "Code generation
 * from strings disallowed for this context"), naming Warden and the rule.
 *
 * The async, generator and async generator function constructors (not globals: reached as
 * `(async function () {}).constructor`) are hooked the same way, judged by their own name
 * (`AsyncFunction`, `GeneratorFunction`, `AsyncGeneratorFunction`) and by `Function`, the
 * strictest answer winning: a policy that denies `Function` is not gone around through them.
 *
 * Limits (docs/trace.md): a direct `eval(x)` becomes an indirect one while hooked (it runs in
 * the global scope, not the caller's).
 */

import type * as VM from "node:vm";
import { rank } from "../../core/decision.js";
import { because } from "./errors.js";
import type { Judged } from "./judge.js";
import type { Tracer } from "./tracer.js";

type AnyFn = (...a: unknown[]) => unknown;

/** How much of the code an event shows and a rule sees. */
const SHOWN = 200;

/** The `vm` functions that compile or run code from a string (their first argument). */
const VM_FUNCTIONS = ["runInContext", "runInNewContext", "runInThisContext", "compileFunction"];

function codeError(name: string, j: Judged): Error {
  const e = new EvalError(
    `Code generation from strings disallowed for this context (${name}: ${because(j)})`,
  );
  const d = j.decision;
  (e as EvalError & { warden: unknown }).warden = {
    rule: d?.rule,
    rule_id: d?.ruleId,
    reason: d?.reason ?? "blocked by Warden",
  };
  return e;
}

/** Is `name` one the `nodejs` section names? Then it is hooked. */
function named(t: Tracer, name: string): boolean {
  return t.judge.names("nodejs", name);
}

/**
 * Judge one call by `name` (and the other names it answers to, the strictest winning); throws
 * the EvalError when it is blocked.
 */
function gate(
  t: Tracer,
  name: string,
  module: string,
  code: unknown,
  aliases: readonly string[] = [],
): void {
  if (t.judge.busy) return;
  const shown = String(code).slice(0, SHOWN);
  let j = t.judge.fn("nodejs", name, [shown]);
  for (const a of aliases) {
    const o = t.judge.fn("nodejs", a, [shown]);
    if (o !== undefined && (j === undefined || rank(o.verdict) > rank(j.verdict))) j = o;
  }
  if (j === undefined) return;
  j = t.record(name, module, shown, j);
  if (j.verdict === "block") throw codeError(name, j);
}

/** The function constructors that are not globals, by the name a policy gives them. */
const HIDDEN_CONSTRUCTORS: readonly [string, () => unknown][] = [
  ["AsyncFunction", () => async () => {}],
  ["GeneratorFunction", () => function* () {}],
  ["AsyncGeneratorFunction", () => async function* () {}],
];

/**
 * Put `Wrapped` in the place of the constructor `Orig` (reached through its prototype's
 * `constructor`, as `(function () {}).constructor` is), with `Orig`'s prototype, name and length.
 */
function replaceConstructor(Orig: AnyFn, Wrapped: AnyFn, parent: object): void {
  Object.setPrototypeOf(Wrapped, parent);
  Object.defineProperty(Wrapped, "prototype", { value: Orig.prototype });
  Object.defineProperty(Wrapped, "name", { value: Orig.name });
  Object.defineProperty(Wrapped, "length", { value: Orig.length });
  Object.defineProperty(Orig.prototype, "constructor", {
    value: Wrapped,
    writable: true,
    configurable: true,
  });
}

export function hookCode(vm: typeof VM, t: Tracer): string[] {
  const out: string[] = [];
  if (named(t, "eval")) {
    // biome-ignore lint/security/noGlobalEval: wrapping eval to judge it is the point here
    const orig = globalThis.eval;
    const evalHook = function (this: unknown, code: unknown) {
      if (typeof code === "string") gate(t, "eval", "global", code);
      return orig(code as string);
    };
    globalThis.eval = evalHook as typeof eval;
    out.push("eval");
  }
  if (named(t, "Function")) {
    const Orig = Function;
    const Wrapped = function (this: unknown, ...args: unknown[]) {
      gate(t, "Function", "global", args.map(String).join(", "));
      return Reflect.construct(Orig, args, new.target ?? Orig);
    } as unknown as FunctionConstructor;
    // `(function () {}).constructor` leads here too; the original is not its prototype (as
    // natively, Function's prototype is Function.prototype).
    replaceConstructor(Orig as unknown as AnyFn, Wrapped as unknown as AnyFn, Orig.prototype);
    globalThis.Function = Wrapped;
    out.push("Function");
  }
  for (const [name, make] of HIDDEN_CONSTRUCTORS) {
    if (!named(t, name) && !named(t, "Function")) continue;
    const Orig = (make() as { constructor: AnyFn }).constructor;
    const Wrapped = function (this: unknown, ...args: unknown[]) {
      gate(t, name, "global", args.map(String).join(", "), ["Function"]);
      return Reflect.construct(Orig, args, new.target ?? Orig);
    };
    // As natively, its prototype is Function (the hooked one, when it is hooked).
    replaceConstructor(Orig, Wrapped, globalThis.Function);
    out.push(name);
  }
  const target = vm as unknown as Record<string, AnyFn>;
  for (const f of VM_FUNCTIONS) {
    const name = `vm.${f}`;
    const orig = target[f];
    if (typeof orig !== "function" || !named(t, name)) continue;
    target[f] = function (this: unknown, ...args: unknown[]) {
      gate(t, name, "vm", args[0]);
      return Reflect.apply(orig, this, args);
    };
    out.push(name);
  }
  if (named(t, "vm.Script")) {
    const Orig = vm.Script;
    const Wrapped = function (this: unknown, ...args: unknown[]) {
      gate(t, "vm.Script", "vm", args[0]);
      return Reflect.construct(Orig, args, new.target ?? Orig);
    } as unknown as typeof VM.Script;
    Object.setPrototypeOf(Wrapped, Orig);
    Object.defineProperty(Wrapped, "prototype", { value: Orig.prototype });
    (vm as { Script: typeof VM.Script }).Script = Wrapped;
    out.push("vm.Script");
  }
  return out;
}
