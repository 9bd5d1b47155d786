/**
 * The host in force inside the component worker (see ./host-seam.ts for the contract): the
 * policy-checked WASI host (./wasi/index.ts). ./deny-host.ts is the deny-everything host it
 * replaced.
 */
export { createHostImports, PROVIDED_IMPORTS } from "./wasi/index.js";
