import type { Command } from "commander";

type Register = (program: Command) => void;

/**
 * Every subcommand, by the top-level names its module registers, and how to load that module:
 * `warden <name>` imports only the module it runs (startup pays for one command, not eleven:
 * `warden run` starts a traced program sooner). Help, `--version` and an unknown name load them
 * all. Each layer adds its own line here; test/cli/commands-table.test.ts checks that each
 * module registers exactly the names listed.
 */
export const COMMANDS: ReadonlyArray<{ names: readonly string[]; load: () => Promise<Register> }> =
  [
    { names: ["admin"], load: async () => (await import("./admin.js")).registerAdmin },
    { names: ["audit"], load: async () => (await import("./audit.js")).registerAudit },
    { names: ["demo"], load: async () => (await import("./demo.js")).registerDemo },
    { names: ["gateway"], load: async () => (await import("./gateway.js")).registerGateway },
    { names: ["guard", "pins"], load: async () => (await import("./guard.js")).registerGuards },
    { names: ["init"], load: async () => (await import("./init.js")).registerInit },
    { names: ["plugin"], load: async () => (await import("./plugin.js")).registerPlugin },
    { names: ["policy"], load: async () => (await import("./policy.js")).registerPolicy },
    { names: ["rules"], load: async () => (await import("./rules.js")).registerRules },
    { names: ["run"], load: async () => (await import("./run.js")).registerRun },
    { names: ["serve"], load: async () => (await import("./serve.js")).registerServe },
  ];

/** The register functions `warden <argv...>` needs: the named command's only, else all. */
export async function commandsFor(args: readonly string[]): Promise<Register[]> {
  const first = args[0];
  const one = COMMANDS.find((c) => first !== undefined && c.names.includes(first));
  return Promise.all((one === undefined ? COMMANDS : [one]).map((c) => c.load()));
}
