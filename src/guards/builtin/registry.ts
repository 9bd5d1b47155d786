import type { ConfigChecker, GuardSpec } from "../config-types.js";
import type { Guard, GuardPhase } from "../types.js";
import { createPii } from "./pii.js";
import type { GuardEnv } from "./pin-store.js";
import { createRugPull } from "./rug-pull.js";
import { checkServerWhitelistConfig, createServerWhitelist } from "./server-whitelist.js";
import { createToolPoisoning } from "./tool-poisoning.js";
import { createToolShadowing } from "./tool-shadowing.js";

/** A built-in guard type: what it can judge, what it judges by default, how it is made. */
export interface BuiltinType {
  readonly phases: readonly GuardPhase[];
  readonly defaultRunsOn: readonly GuardPhase[];
  /** What schemas/guards.schema.json cannot say about its `config` (checked after it). */
  readonly checkConfig?: ConfigChecker;
  create(spec: GuardSpec, env?: GuardEnv): Guard;
}

export const BUILTIN_TYPES: Readonly<Record<string, BuiltinType>> = Object.freeze({
  tool_poisoning: {
    phases: ["tools_list"],
    defaultRunsOn: ["tools_list"],
    create: createToolPoisoning,
  },
  rug_pull: {
    phases: ["tools_list", "tool_invoke"],
    defaultRunsOn: ["tools_list", "tool_invoke"],
    create: (spec, env) => createRugPull(spec, Date.now, env?.pins),
  },
  tool_shadowing: {
    phases: ["tools_list"],
    defaultRunsOn: ["tools_list"],
    create: createToolShadowing,
  },
  server_whitelist: {
    phases: ["connection", "request", "response", "tools_list", "tool_invoke"],
    defaultRunsOn: ["connection"],
    checkConfig: checkServerWhitelistConfig,
    create: createServerWhitelist,
  },
  pii: {
    phases: ["request", "response", "tool_invoke"],
    defaultRunsOn: ["request", "response", "tool_invoke"],
    create: createPii,
  },
});
