/**
 * The WAT components `hostile` (tools ok, spin, bomb) and `counter` (tools next) built into the
 * tests' cache, which an in-process gateway then reads (WARDEN_CACHE_DIR), and a policy letting
 * a client over HTTP or stdio call their tools: what the reload and watch tests of a gateway's
 * component upstream start from.
 */
import { mkdirSync } from "node:fs";
import { CACHE, watComponent } from "./build.js";

export const TOOLS_POLICY =
  'version: "1.0"\nmcp:\n  transport: { http: true, stdio: true }\n  tools: { allow: ["tools.*"] }\n';

/** Build both components (for a `beforeAll`): their .wasm paths, each beside its .wit. */
export async function hostileAndCounter(): Promise<{ hostile: string; counter: string }> {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  const hostile = await watComponent("hostile");
  const counter = await watComponent("counter");
  process.env.WARDEN_CACHE_DIR = CACHE;
  return { hostile, counter };
}
