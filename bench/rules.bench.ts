/**
 * Rules (issue 23 goals): a rule with one CEL condition ≤ 1 µs p50; a rule calling a pooled
 * plugin ≤ 5 µs p50; 100 rules of which none match ≤ 20 µs; compiling 100 CEL rules < 20 ms.
 * The plugin is a WAT module (wabt, built here) returning {"verdict":true} through the JSON ABI,
 * loaded once with the sandbox (one pooled instance, reset after each evaluation).
 */
import wabtInit from "wabt";
import { compileCel } from "../src/rules/cel.js";
import {
  type ActionContext,
  parseRules,
  type RulePlugins,
  type RuleSet,
} from "../src/rules/index.js";
import { loadPlugin } from "../src/sandbox/plugin.js";
import type { Harness } from "./harness.js";

const PLUGIN = `(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (data (i32.const 16) "{\\"verdict\\":true}")
  (func (export "allocate") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (local.get $p))
  (func (export "evaluate") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 16))))`;

const ctx: ActionContext = {
  namespace: "mcp",
  tenant: "alice",
  provider: "payments",
  action_type: "payment",
  payload: { amount: 150, to: "bob" },
  metadata: { method: "tools/call" },
};

function load(yaml: string, plugins?: RulePlugins): RuleSet {
  const r = parseRules(yaml, "bench.yaml", plugins === undefined ? {} : { plugins });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.rules;
}

export default async function (h: Harness): Promise<void> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat("p.wat", PLUGIN);
  const bytes = new Uint8Array(mod.toBinary({}).buffer);
  mod.destroy();
  const plugin = await loadPlugin(bytes, { name: "bench-plugin", cacheDir: false });
  const plugins: RulePlugins = {
    invoke: (_name, fn, input) => plugin.evaluateSync(input, { function: fn }),
  };

  const cel = load(
    `rules:\n  - name: one-cel\n    condition: 'action_type == "payment"'\n    action: warn\n`,
  );
  h.measure("rules: one rule, one CEL condition (matches)", () => cel.evaluate(ctx), {
    note: "goal ≤ 1 µs p50",
  });
  const yaml = load(
    "rules:\n  - name: one-yaml\n    conditions: [ { field: payload.amount, operator: gt, value: 100 } ]\n    action: warn\n",
  );
  h.measure("rules: one rule, one YAML condition (matches)", () => yaml.evaluate(ctx));

  const withPlugin = load(
    "rules:\n  - name: plugin\n    wasm_plugin: bench-plugin\n    action: warn\n",
    plugins,
  );
  h.measure("rules: one rule calling a pooled plugin", () => withPlugin.evaluate(ctx), {
    note: "goal ≤ 5 µs p50",
  });

  const hundred = Array.from({ length: 100 }, (_, i) =>
    i % 2 === 0
      ? `  - name: r${i}\n    conditions: [ { field: action_type, operator: eq, value: other${i} } ]\n    action: deny\n`
      : `  - name: r${i}\n    condition: 'action_type == "other${i}" && payload.amount > ${i}'\n    action: deny\n`,
  ).join("");
  const none = load(`rules:\n${hundred}`);
  if (none.evaluate(ctx).action !== null) throw new Error("a rule matched");
  h.measure("rules: 100 rules (50 YAML, 50 CEL), none matching", () => none.evaluate(ctx), {
    note: "goal ≤ 20 µs p50",
  });

  const exprs = Array.from(
    { length: 100 },
    (_, i) => `action_type == "t${i}" && payload.amount > ${i} && wasm("p${i}", "evaluate")`,
  );
  let round = 0;
  h.measure(
    "rules: compile 100 CEL expressions (parse + type check)",
    () => {
      round++;
      // distinct text each round: nothing cached by the library
      for (const e of exprs) compileCel(`${e} && tenant != "${round}"`);
    },
    { note: "goal < 20 ms", samples: h.quick ? 10 : 40, budgetMs: h.quick ? 500 : 3000 },
  );
  const file = `rules:\n${exprs.map((e, i) => `  - name: c${i}\n    condition: '${e}'\n    action: deny\n`).join("")}`;
  h.measure("rules: load a file of 100 CEL rules (YAML, schema, compile)", () => load(file), {
    samples: h.quick ? 10 : 40,
    budgetMs: h.quick ? 500 : 3000,
  });
}
