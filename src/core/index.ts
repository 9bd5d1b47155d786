export { type Call, type CallMeta, makeCall, type Phase } from "./call.js";
export { Chain, composeChain } from "./chain.js";
export { CORE_CODES, type CoreCode } from "./codes.js";
export {
  ALLOW,
  allow,
  combine,
  type Decision,
  decide,
  deny,
  isAllowed,
  isBlocked,
  isVerdict,
  parseVerdict,
  rank,
  stricter,
  VERDICTS,
  type Verdict,
} from "./decision.js";
export {
  type ErrorCategory,
  exitCodeFor,
  isWardenError,
  WardenError,
  type WardenErrorOptions,
} from "./errors.js";
export * from "./strategies/index.js";
export type { Strategy } from "./strategy.js";
