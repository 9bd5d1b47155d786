/**
 * The policies a WASI host judges with, compiled inside the component's worker: the policy in
 * force (the gateway's, or `warden serve --policy`) and the component's own grants. A host call
 * is allowed only when every one of them allows it (the effective grant is what both allow).
 * A policy arrives as its source text or its path (a worker cannot receive a compiled policy:
 * its matchers are not structured-clone-safe), or compiled, for a host in the same thread.
 */
import { readFileSync } from "node:fs";
import { WardenError } from "../../core/errors.js";
import { compilePolicy } from "../../policy/compile.js";
import { CompiledPolicy } from "../../policy/policy.js";
import type { PolicyError } from "../../policy/types.js";
import { fromWassette, isWassettePolicy } from "./wassette.js";

/**
 * A policy for the host: compiled already, its source (and file name), or a file path.
 * `format`: `warden` (the policy language), `wassette` (a Wassette per-component policy file,
 * mapped: docs/hosted-tools.md), or `auto` (the default for grants: Wassette's when the file
 * has Wassette's shape, see `isWassettePolicy`).
 */
export type HostPolicyInput =
  | CompiledPolicy
  | {
      readonly source: string;
      readonly file?: string;
      readonly format?: "warden" | "wassette" | "auto";
    }
  | { readonly path: string; readonly format?: "warden" | "wassette" | "auto" };

/** A compiled policy and, for a mapped Wassette file, where each rule is in that file. */
export interface HostPolicy {
  readonly policy: CompiledPolicy;
  /** `ruleId` of the compiled policy to `file:line` in the file the user wrote. */
  readonly locations: ReadonlyMap<string, string> | null;
}

function located(errors: readonly PolicyError[]): string {
  return errors
    .slice(0, 20)
    .map((e) => `${e.file}:${e.line}:${e.col} ${e.code} ${e.message}`)
    .join("\n");
}

/**
 * Compile one policy for the host. Errors are thrown as one `hosted_policy_invalid` naming each
 * `file:line:col` (a policy that cannot be read: `policy_file`, located at the file).
 */
export function compileHostPolicy(input: HostPolicyInput, role: string): HostPolicy {
  if (input instanceof CompiledPolicy) return { policy: input, locations: null };
  let source: string;
  let file: string;
  if ("path" in input) {
    file = input.path;
    try {
      source = readFileSync(input.path, "utf8");
    } catch (e) {
      const err: PolicyError = {
        file,
        line: 1,
        col: 1,
        code: "policy_file",
        key: "",
        message: `cannot read the ${role}: ${(e as Error).message}`,
      };
      throw invalid(role, [err]);
    }
  } else {
    source = input.source;
    file = input.file ?? `<${role}>`;
  }
  const format = input.format ?? "warden";
  if (format === "wassette" || (format === "auto" && isWassettePolicy(source))) {
    const mapped = fromWassette(source, file);
    if (!mapped.ok) throw invalid(role, mapped.errors);
    const r = compilePolicy(mapped.source, { file });
    if (!r.ok)
      throw invalid(
        role,
        r.errors.map((e) => mapped.locate(e)),
      );
    return { policy: r.policy, locations: mapped.locations };
  }
  const r = compilePolicy(source, { file });
  if (!r.ok) throw invalid(role, r.errors);
  return { policy: r.policy, locations: null };
}

function invalid(role: string, errors: readonly PolicyError[]): WardenError {
  return new WardenError(
    "hosted_policy_invalid",
    `The ${role} given to the WASI host does not compile; fix it:\n${located(errors)}`,
    { category: "config", details: { role, errors } },
  );
}
