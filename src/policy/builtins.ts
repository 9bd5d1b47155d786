import { mcpType } from "./mcp/extension.js";
import { permissionTypes, registerPermissionType } from "./registry.js";
import { environmentType } from "./types/environment.js";
import { resourcesType, runtimeType } from "./types/limits.js";
import { networkType } from "./types/network.js";
import { storageType } from "./types/storage.js";

/** Register the built-in permission types once (mcp is one of them, built as an extension). */
export function ensureBuiltins(): void {
  if (registered) return;
  registered = true;
  const have = new Set(permissionTypes().map((t) => t.key));
  for (const t of [
    storageType,
    networkType,
    environmentType,
    resourcesType,
    runtimeType,
    mcpType,
  ]) {
    if (!have.has(t.key)) registerPermissionType(t as never);
  }
}
let registered = false;
