/**
 * The cli composes the rules (docs/rules.md) from warden.yaml's `rules: FILE`: the rule set,
 * the plugins it calls (the folder `wasm.plugin_dir`, loaded with the sandbox; the admin API's
 * registry instead when the admin API runs with wasm.enabled), and one core strategy handed to the gateway for tools/call
 * (tool_invoke) and prompts/get, resources/read (request). The rules file is watched: a valid
 * new version is swapped in at once, an invalid one is rejected with its problems and the old
 * one keeps running (as the gateway does with its config and policy).
 */
import type { Strategy } from "../core/strategy.js";
import type { GatewayConfig } from "../mcp/config-types.js";
import { FileWatcher } from "../mcp/watch.js";
import {
  DirectoryPlugins,
  formatRulesProblems,
  loadRulesFile,
  loadRulesOrThrow,
  type RulePlugins,
  type RuleSet,
  rulesStrategy,
} from "../rules/index.js";

export interface RulesRuntime {
  /** The rule set in force (swapped on reload). */
  readonly holder: { current: RuleSet | null };
  /** The strategies for Gateway.start's `strategies`. */
  readonly strategies: { tool_invoke: Strategy[]; request: Strategy[] };
  /** Read the rules file again (what the watcher does); false when rejected. */
  reload(file?: string): boolean;
  close(): void;
}

/** The plugins of `wasm.plugin_dir` (undefined when none is set). */
async function directoryPlugins(config: GatewayConfig): Promise<RulePlugins | undefined> {
  const w = config.wasm;
  if (w?.pluginDir === undefined) return undefined;
  return DirectoryPlugins.load(w.pluginDir, {
    limits: { memory_limit_bytes: w.defaultMemoryLimitBytes, timeout_ms: w.defaultTimeoutMs },
    ...(config.state?.cacheDir === undefined ? {} : { cacheDir: config.state.cacheDir }),
  });
}

export async function composeRules(
  config: GatewayConfig,
  opts: { watch?: boolean; log?: (line: string) => void; plugins?: RulePlugins } = {},
): Promise<RulesRuntime | undefined> {
  if (config.rules === undefined) return undefined;
  const log = opts.log ?? ((l: string) => process.stderr.write(`warden gateway: ${l}\n`));
  const plugins = opts.plugins ?? (await directoryPlugins(config));
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
    },
  };
}
