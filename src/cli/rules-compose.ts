/**
 * The cli composes the rules (docs/rules.md) from warden.yaml's `rules: FILE`: the rule set,
 * the plugins it calls (the folder `wasm.plugin_dir`, loaded with the sandbox; the admin API's
 * registry instead when the admin API runs with wasm.enabled), and one core strategy handed to the gateway for tools/call
 * (tool_invoke) and prompts/get, resources/read (request). The rules file is watched: a valid
 * new version is swapped in at once, an invalid one is rejected with its problems and the old
 * one keeps running (as the gateway does with its config and policy).
 */

import { FileWatcher } from "../core/file-watch.js";
import type { Strategy } from "../core/strategy.js";
import type { GatewayConfig } from "../mcp/config-types.js";
import {
  formatRulesProblems,
  loadRulesFile,
  loadRulesOrThrow,
  type RulePlugins,
  type RuleSet,
  rulesStrategy,
} from "../rules/index.js";
import { PluginRegistry } from "../rules/registry/index.js";

export interface RulesRuntime {
  /** The rule set in force (swapped on reload). */
  readonly holder: { current: RuleSet | null };
  /** The strategies for Gateway.start's `strategies`. */
  readonly strategies: { tool_invoke: Strategy[]; request: Strategy[] };
  /** Read the rules file again (what the watcher does); false when rejected. */
  reload(file?: string): boolean;
  close(): void;
}

/**
 * The plugins of `wasm.plugin_dir` (undefined when none is set): a registry of that folder
 * alone (nothing kept), which follows it: a .wasm added, changed or removed is picked up, a
 * broken one is refused on stderr and the version in force keeps running.
 */
async function directoryPlugins(
  config: GatewayConfig,
  say: (line: string) => void,
  follow: boolean,
): Promise<PluginRegistry | undefined> {
  const w = config.wasm;
  if (w?.pluginDir === undefined) return undefined;
  const line = (
    o: { event?: string; plugin?: string; file?: string; reload?: boolean },
    msg?: string,
  ) => {
    if (o.event === "wasm.plugin.register" && o.reload === true)
      say(`loaded plugin "${o.plugin}" from ${o.file} (changed in wasm.plugin_dir)`);
    else if (o.event === "wasm.plugin.delete")
      say(`plugin "${o.plugin}" removed: its file is gone`);
    else if (msg !== undefined && !msg.startsWith("wasm.plugin.")) say(msg);
  };
  const registry = await PluginRegistry.open({
    pluginDir: w.pluginDir,
    defaultMemoryLimitBytes: w.defaultMemoryLimitBytes,
    defaultTimeoutMs: w.defaultTimeoutMs,
    ...(config.state?.cacheDir === undefined ? {} : { cacheDir: config.state.cacheDir }),
    log: { debug() {}, info: line, warn: line, error: line },
  });
  if (follow) registry.watchPluginDir();
  return registry;
}

export async function composeRules(
  config: GatewayConfig,
  opts: { watch?: boolean; log?: (line: string) => void; plugins?: RulePlugins } = {},
): Promise<RulesRuntime | undefined> {
  if (config.rules === undefined) return undefined;
  const log = opts.log ?? ((l: string) => process.stderr.write(`warden gateway: ${l}\n`));
  const own =
    opts.plugins === undefined
      ? await directoryPlugins(config, log, opts.watch !== false)
      : undefined;
  const plugins = opts.plugins ?? own;
  let file = config.rules;
  const holder: { current: RuleSet | null } = {
    current: loadRulesOrThrow(file, plugins === undefined ? {} : { plugins }),
  };
  const reload = (next = file): boolean => {
    const r = loadRulesFile(next, plugins === undefined ? {} : { plugins });
    if (!r.ok) {
      log(`rejected the new rules, the old ones keep running:\n${formatRulesProblems(r.errors)}`);
      return false;
    }
    holder.current = r.rules;
    if (next !== file) {
      file = next;
      watcher?.set([file]);
    }
    log(`reloaded the rules (${r.rules.rules.length} from ${file})`);
    return true;
  };
  const watcher = opts.watch === false ? undefined : new FileWatcher(() => reload());
  watcher?.set([file]);
  const s = rulesStrategy(holder) as Strategy;
  return {
    holder,
    strategies: { tool_invoke: [s], request: [s] },
    reload,
    close() {
      watcher?.close();
      void own?.close();
    },
  };
}
