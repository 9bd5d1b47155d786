/**
 * The policy `warden run` judges with, made ready for the run: compiled (its errors refuse the
 * run, its warnings are said), the sections it was given (in the order the agents list them),
 * and the text handed to every traced process (JSON on the YAML's lines, src/trace/policy-json.ts).
 * A built-in preset is made ready at build time (scripts/prepare-presets.mjs writes
 * dist/trace/policy/presets.prepared.json): `warden run -- npm ci` then neither loads the YAML
 * composer nor compiles at start; the CLI compiles only when it judges itself (a Python agent's
 * `/judge`, the strace layer), after the program started. An entry whose preset text changed
 * since (its SHA-256 differs) is not used.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { compilePolicy } from "../policy/compile.js";
import type { CompiledPolicy } from "../policy/policy.js";
import type { PolicyError } from "../policy/types.js";
import { policyAsJson } from "../trace/index.js";

export interface ReadyPolicy {
  readonly file: string;
  /** What every traced process compiles (JSON on the YAML's lines, or the YAML itself). */
  readonly handed: string;
  readonly sections: readonly string[];
  readonly warnings: readonly PolicyError[];
  /** The compiled policy, compiled on first use when the policy was prepared at build time. */
  compiled(): CompiledPolicy;
}

/** The entry of presets.prepared.json for one preset. */
export interface PreparedEntry {
  readonly sha256: string;
  readonly file: string;
  readonly handed: string;
  readonly sections: readonly string[];
  readonly warnings: readonly PolicyError[];
}

export const PREPARED = new URL("../trace/policy/presets.prepared.json", import.meta.url);

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Compile `text`: its errors, or the policy ready for a run. */
export function readyPolicy(
  text: string,
  file: string,
): { ok: false; errors: PolicyError[] } | { ok: true; policy: ReadyPolicy; entry: PreparedEntry } {
  const c = compilePolicy(text, { file });
  if (!c.ok) return { ok: false, errors: c.errors };
  // A malwi policy's sections are the Warden sections it was read as.
  // (Warden's: sorted, as the file's own sections; the compile read the YAML once already.)
  const sections = c.policy.dialect === "malwi" ? [...c.policy.given] : [...c.policy.given].sort();
  const entry: PreparedEntry = {
    sha256: sha256(text),
    file,
    handed: policyAsJson(text, file) ?? text,
    sections,
    warnings: c.warnings,
  };
  return { ok: true, entry, policy: { ...fromEntry(entry, text), compiled: () => c.policy } };
}

/** A preset as prepared at build time, when the build prepared this very text; else undefined. */
export function preparedPreset(name: string, text: string): ReadyPolicy | undefined {
  let all: Record<string, PreparedEntry>;
  try {
    all = JSON.parse(readFileSync(PREPARED, "utf8")) as Record<string, PreparedEntry>;
  } catch {
    return undefined;
  }
  const e = Object.hasOwn(all, name) ? all[name] : undefined;
  if (e === undefined || e.sha256 !== sha256(text)) return undefined;
  return fromEntry(e, text);
}

function fromEntry(e: PreparedEntry, text: string): ReadyPolicy {
  let compiled: CompiledPolicy | undefined;
  return {
    file: e.file,
    handed: e.handed,
    sections: e.sections,
    warnings: e.warnings,
    compiled: () => {
      if (compiled !== undefined) return compiled;
      const c = compilePolicy(text, { file: e.file });
      if (!c.ok) throw new Error(`${e.file} no longer compiles: ${c.errors[0]?.message ?? "?"}`);
      compiled = c.policy;
      return compiled;
    },
  };
}
