/** Warden's public API: named exports only. */
export * from "./audit/index.js";
export * from "./core/index.js";
export * from "./guards/index.js";
export * from "./mcp/index.js";
export * from "./policy/index.js";
export * from "./sandbox/index.js";
