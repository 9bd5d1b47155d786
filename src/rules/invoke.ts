/**
 * A rule's plugin call: through the `RulePlugins` the rules were given, recorded as the seed's
 * `wasm_details` when tracing. A failure (unknown plugin, trap, timeout, memory, bad output) is
 * a `rules_plugin_failed` WardenError carrying the sandbox's code; the rule's on_error decides.
 */
import { isWardenError, WardenError } from "../core/errors.js";
import { setWasmCall } from "./cel.js";
import type { ActionContext, RulePlugins, WasmDetails } from "./types.js";

export function invokePlugin(
  plugins: RulePlugins | undefined,
  plugin: string,
  fn: string,
  ctx: ActionContext,
  details: WasmDetails[] | undefined,
): boolean {
  if (plugins === undefined)
    throw new WardenError(
      "rules_plugin_failed",
      `plugin "${plugin}": no plugins are configured for these rules (give a plugin directory: wasm.plugin_dir, or --plugins DIR)`,
      { category: "plugin", details: { plugin, function: fn, cause_code: "not_found" } },
    );
  try {
    const r = plugins.invoke(plugin, fn, ctx);
    if (details !== undefined) {
      const d: WasmDetails = {
        plugin,
        function: fn,
        verdict: r.verdict,
        duration_us: r.duration_us,
        memory_used_bytes: r.memory_used_bytes,
      };
      if (r.message !== undefined) d.message = r.message;
      details.push(d);
    }
    return r.verdict;
  } catch (e) {
    const code = isWardenError(e) ? e.code : "internal";
    const message = e instanceof Error ? e.message : String(e);
    details?.push({
      plugin,
      function: fn,
      verdict: null,
      duration_us: 0,
      memory_used_bytes: 0,
      error: { code, message },
    });
    throw new WardenError("rules_plugin_failed", `plugin "${plugin}" (${fn}) failed: ${message}`, {
      category: "plugin",
      details: { plugin, function: fn, cause_code: code },
      cause: e,
    });
  }
}

// wasm() in CEL calls the same function; a failure is kept for the rule (the CEL library may
// wrap what a function throws).
setWasmCall((r, plugin, fn) => {
  try {
    return invokePlugin(r.plugins, plugin, fn, r.ctx, r.details);
  } catch (e) {
    r.failure = e;
    throw e;
  }
});
