// Module resolve hook registered by node20-compat.mjs: imports of "fs" made from inside
// @modelcontextprotocol/conformance resolve to fs-with-glob.mjs. Every other import is untouched.
const SHIM = new URL("./fs-with-glob.mjs", import.meta.url).href;
const SUITE = "/node_modules/@modelcontextprotocol/conformance/";

export async function resolve(specifier, context, next) {
  if ((specifier === "fs" || specifier === "node:fs") && context.parentURL?.includes(SUITE)) {
    return { url: SHIM, shortCircuit: true };
  }
  return next(specifier, context);
}
