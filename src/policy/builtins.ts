import { mcpType } from "./mcp/extension.js";
import { commandsType } from "./process/commands.js";
import { endpointsType } from "./process/endpoints.js";
import { nodejsType, pythonType } from "./process/functions.js";
import { httpType } from "./process/http.js";
import { permissionTypes, registerPermissionType } from "./registry.js";
import { environmentType } from "./types/environment.js";
import { resourcesType, runtimeType } from "./types/limits.js";
import { networkType } from "./types/network.js";
import { storageType } from "./types/storage.js";

/**
 * Register the built-in permission types once (mcp is one of them, built as an extension; so
 * are the process sections `warden run` judges: commands, nodejs, python, http, endpoints).
 */
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
    commandsType,
    nodejsType,
    pythonType,
    httpType,
    endpointsType,
  ]) {
    if (!have.has(t.key)) registerPermissionType(t as never);
  }
}
let registered = false;
