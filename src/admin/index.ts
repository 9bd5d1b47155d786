/** The admin layer: HTTP admin API, metrics, admin page (docs/admin.md). */
export { AdminAccess, ANONYMOUS, type Authenticator, callerOf } from "./access.js";
export { ADMIN_CODES, type AdminCode } from "./codes.js";
export {
  ADMIN_DEFAULTS,
  type AdminListen,
  type AdminToken,
  isLoopback,
} from "./config-types.js";
export type { AdminContext, AdminRules } from "./context.js";
export { WasmMetrics } from "./metrics.js";
export { type AdminPinList, type AdminPins, redisAdminPins } from "./pins.js";
export { errorBody, sendError, sendThrown, statusOf } from "./reply.js";
export {
  type AdminServer,
  type AdminServerOptions,
  checkListen,
  createAdminServer,
} from "./server.js";
export type { AdminDecisionFilter, AdminGatewayViews } from "./views.js";
