/** The MCP gateway layer's public API. */
export { CONFIG_ISSUE_CODES, type ConfigIssueCode, MCP_CODES, type McpCode } from "./codes.js";
export {
  formatIssues as formatConfigIssues,
  loadConfig as loadGatewayConfig,
  parseConfig as parseGatewayConfig,
} from "./config.js";
export type { ConfigIssue, GatewayConfig, ListenConfig, UpstreamConfig } from "./config-types.js";
export { Gateway, type GatewayOptions, type ReloadResult } from "./gateway.js";
export {
  DENIED as DENIED_ERROR_CODE,
  UPSTREAM_UNAVAILABLE as UPSTREAM_UNAVAILABLE_ERROR_CODE,
} from "./jsonrpc.js";
export {
  buildJudges,
  type GatewayCallMeta,
  type GatewayPhase,
  type Judges,
  PHASES as GATEWAY_PHASES,
} from "./judges.js";
