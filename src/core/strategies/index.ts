export {
  FirewallBuilder,
  type FirewallEffect,
  type FirewallRule,
  FirewallStrategy,
} from "./firewall.js";
export { Histogram } from "./histogram.js";
export { type LoggingOptions, LoggingStrategy } from "./logging.js";
export {
  type FunctionStats,
  OVERFLOW_TARGET,
  type StatisticsConfig,
  type StatisticsSnapshot,
  StatisticsStrategy,
} from "./statistics.js";
