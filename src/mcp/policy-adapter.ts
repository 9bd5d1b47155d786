/**
 * What the gateway asks the policy layer, beyond its `PolicyHolder`, `loadPolicyFileSync` and
 * `toCoreDecision` (used as they are): the action type, and the check options for upstreams
 * whose paths are this host's files.
 */
import { type Action, type CheckOptions, resolveRealPathSync } from "../policy/index.js";

/** What the gateway asks the policy about (see docs/gateway.md, "What the policy sees"). */
export type PolicyAction = Action;

/**
 * Check options for an upstream with `paths: local`: every path the policy judges (path
 * arguments, `file:` resource URIs, roots) is resolved through this host's file system
 * (symbolic links followed, see `resolveRealPathSync`) and judged as the file it opens.
 * One frozen object: the per-call path allocates nothing for it.
 */
export const ON_THIS_HOST: CheckOptions = Object.freeze({ realPath: resolveRealPathSync });
