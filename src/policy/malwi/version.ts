/**
 * Which language a policy file is written in, from its `version`: Warden's own policies have
 * the string `"1.0"` (or no version), malwi's the integer `1`. A version that could be either
 * (`"1"`, `1.0`) is refused with a message saying which to write.
 */
import type { PolicySource } from "../source.js";

export type Dialect =
  | { readonly dialect: "warden" | "malwi" }
  | { readonly code: string; readonly message: string };

const WHICH =
  'write version: "1.0" (a string) for a Warden policy, or version: 1 (an integer) for a malwi policy';

export function policyDialect(src: PolicySource, doc: unknown): Dialect {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return { dialect: "warden" };
  const v = (doc as Record<string, unknown>).version;
  if (typeof v === "string") {
    if (v.trim() === "1")
      return {
        code: "policy_version_ambiguous",
        message: `version "1" could be Warden's "1.0" or malwi's 1: ${WHICH}`,
      };
    return { dialect: "warden" };
  }
  if (typeof v !== "number") return { dialect: "warden" };
  const raw = src.scalarText(["version"]);
  if (v === 1 && raw === "1") return { dialect: "malwi" };
  if (v === 1)
    return {
      code: "policy_version_ambiguous",
      message: `version ${raw ?? v} could be Warden's "1.0" or malwi's 1: ${WHICH}`,
    };
  return {
    code: "policy_bad_value",
    message: `version ${raw ?? v} is not supported: Warden reads its own policies (version: "1.0") and malwi's (version: 1)`,
  };
}
