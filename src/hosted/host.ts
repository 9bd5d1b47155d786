/**
 * The host in force inside the component worker (see ./host-seam.ts for the contract). Today
 * the deny-everything host; the policy-checked WASI host replaces this line.
 */
export { createHostImports, PROVIDED_IMPORTS } from "./deny-host.js";
