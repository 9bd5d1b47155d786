/**
 * A guard component through the shared transpile cache (src/sandbox/component/transpile.ts),
 * refused unless it imports only the guard host interface and exports the guard interface.
 */
import { WardenError } from "../../core/errors.js";
import { type Transpiled, transpileComponent } from "../../sandbox/component/transpile.js";

const HOST_IMPORT = "mcp:security-guard/host";

export type { Transpiled };

export function transpileGuard(
  bytes: Uint8Array,
  guardId: string,
  file: string,
  cacheDir?: string,
): Promise<Transpiled> {
  return transpileComponent(bytes, {
    name: "guard",
    ...(cacheDir === undefined ? {} : { cacheDir }),
    invalid: (reason, cause) =>
      new WardenError(
        "guard_load_failed",
        `Guard "${guardId}": ${file} is not a component jco can transpile (${reason}). Build it as a component of the world mcp:security-guard/security-guard@0.1.0 (see examples/guards/README.md).`,
        { category: "plugin", details: { guard: guardId, file }, cause },
      ),
    check({ imports, exports }) {
      const bad = imports.filter((i) => !i.startsWith(HOST_IMPORT));
      if (bad.length > 0)
        throw new WardenError(
          "guard_load_failed",
          `Guard "${guardId}": ${file} imports ${bad.join(", ")}, which Warden does not grant guards (only ${HOST_IMPORT}: log, get-time, get-config). For componentize-js, build with disableFeatures: ["stdio", "random", "clocks", "http", "fetch-event"].`,
          { category: "plugin", details: { guard: guardId, file, imports: bad } },
        );
      if (!exports.some((n) => n === "guard" || n.startsWith("mcp:security-guard/guard")))
        throw new WardenError(
          "guard_load_failed",
          `Guard "${guardId}": ${file} does not export the interface mcp:security-guard/guard@0.1.0 (it exports ${exports.join(", ") || "nothing"}); build it against wit/ of this repository.`,
          { category: "plugin", details: { guard: guardId, file } },
        );
    },
  });
}
