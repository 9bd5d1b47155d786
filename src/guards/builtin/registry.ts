import type { ConfigChecker, GuardSpec } from "../config-types.js";
import type { Guard, GuardPhase } from "../types.js";
import { checkPiiConfig, createPii } from "./pii.js";
import { checkRugPullConfig, createRugPull } from "./rug-pull.js";
import { checkServerWhitelistConfig, createServerWhitelist } from "./server-whitelist.js";
import { checkToolPoisoningConfig, createToolPoisoning } from "./tool-poisoning.js";
import { checkToolShadowingConfig, createToolShadowing } from "./tool-shadowing.js";

/** A built-in guard type: what it can judge, what it judges by default, how it is made. */
export interface BuiltinType {
  readonly phases: readonly GuardPhase[];
  readonly defaultRunsOn: readonly GuardPhase[];
  readonly checkConfig: ConfigChecker;
  create(spec: GuardSpec): Guard;
}

export const BUILTIN_TYPES: Readonly<Record<string, BuiltinType>> = Object.freeze({
  tool_poisoning: {
    phases: ["tools_list"],
    defaultRunsOn: ["tools_list"],
    checkConfig: checkToolPoisoningConfig,
    create: createToolPoisoning,
  },
  rug_pull: {
    phases: ["tools_list", "tool_invoke"],
    defaultRunsOn: ["tools_list", "tool_invoke"],
    checkConfig: checkRugPullConfig,
    create: (spec) => createRugPull(spec),
  },
  tool_shadowing: {
    phases: ["tools_list"],
    defaultRunsOn: ["tools_list"],
    checkConfig: checkToolShadowingConfig,
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
    checkConfig: checkPiiConfig,
    create: createPii,
  },
});
