import type { Command } from "commander";
import { registerDemo } from "./demo.js";
import { registerGateway } from "./gateway.js";
import { registerGuards } from "./guard.js";
import { registerPlugin } from "./plugin.js";
import { registerPolicy } from "./policy.js";

/** Every subcommand; each layer adds its own `register*` here (one line, one module). */
export const commands: ReadonlyArray<(program: Command) => void> = [
  registerDemo,
  registerGateway,
  registerGuards,
  registerPlugin,
  registerPolicy,
];
