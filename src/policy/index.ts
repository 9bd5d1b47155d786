/** The policy layer's public API. See docs/policy.md. */

export { compileNameGlob, compilePathGlob } from "../core/glob.js";
export { type CanonHost, canonicalizeHost } from "./canon/host.js";
export { formatIpv6, intToIpv4, ipv4ToInt, parseIpv6 } from "./canon/ip.js";
export { canonicalizeName } from "./canon/name.js";
export { canonicalizePath, type PathOptions } from "./canon/path.js";
export type { Canon } from "./canon/result.js";
export { type CanonUrl, canonicalizeResourceUri, canonicalizeUrl } from "./canon/url.js";
export { POLICY_CODES, type PolicyCode } from "./codes.js";
export { type CompileOptions, type CompileResult, compilePolicy } from "./compile.js";
export { type CheckContext, CompileContext } from "./context.js";
export { toCoreDecision } from "./core-decision.js";
export { allowHint, allowHintFor } from "./hints.js";
export { PolicyHolder } from "./holder.js";
export {
  type LoadOptions as PolicyLoadOptions,
  loadPolicyFile,
  loadPolicyFileSync,
  resolveRealPath,
  resolveRealPathSync,
} from "./io.js";
export { PatternSet } from "./match/pattern-set.js";
export { CompiledPolicy } from "./policy.js";
export { PolicyState, RuleLimiter, WINDOW_MS } from "./rate-limit.js";
export {
  type Matcher,
  type PermissionType,
  permissionTypes,
  registerPermissionType,
  unregisterPermissionType,
} from "./registry.js";
export { badAction, makeDecision, noRule, notCanonical, type Rule } from "./rule.js";
export { S, type Schema } from "./schema.js";
export type { Path } from "./source.js";
export type { Limits, RuntimeSettings } from "./types/limits.js";
export type {
  Action,
  ActionKind,
  CheckOptions,
  DecisionCode,
  DeferredLimits,
  Effect,
  Explanation,
  PendingLimit,
  PolicyDecision,
  PolicyError,
  RealPath,
} from "./types.js";
