import type { Command } from "commander";
import { registerAdmin } from "./admin.js";
import { registerAudit } from "./audit.js";
import { registerDemo } from "./demo.js";
import { registerGateway } from "./gateway.js";
import { registerGuards } from "./guard.js";
import { registerInit } from "./init.js";
import { registerPlugin } from "./plugin.js";
import { registerPolicy } from "./policy.js";
import { registerRules } from "./rules.js";
import { registerRun } from "./run.js";
import { registerServe } from "./serve.js";

/** Every subcommand; each layer adds its own `register*` here (one line, one module). */
export const commands: ReadonlyArray<(program: Command) => void> = [
  registerAdmin,
  registerAudit,
  registerDemo,
  registerGateway,
  registerGuards,
  registerInit,
  registerPlugin,
  registerPolicy,
  registerRules,
  registerRun,
  registerServe,
];
