import { parseGuardsConfig } from "../../src/guards/config.js";
import type { GuardSpec } from "../../src/guards/config-types.js";

/** One validated guard spec from plain data (throws on config issues, naming them). */
export function specOf(
  entry: Record<string, unknown>,
  file = "/tmp/warden-test/warden.yaml",
): GuardSpec {
  const r = parseGuardsConfig([entry], file);
  if (r.issues.length > 0)
    throw new Error(r.issues.map((i) => `${i.key}: ${i.message}`).join("\n"));
  return r.guards[0]!;
}
