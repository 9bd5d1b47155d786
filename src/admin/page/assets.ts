/**
 * The admin page's static files (assets/: index.html, page.js, page.css), read once from beside
 * this module (the build copies them into dist/admin/page/assets) and served as they are.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { WardenError } from "../../core/errors.js";

export interface PageAsset {
  /** The URL path it is served at. */
  readonly path: string;
  readonly type: string;
  readonly body: Buffer;
  /** A strong ETag of the body. */
  readonly etag: string;
}

const FILES: ReadonlyArray<readonly [path: string, file: string, type: string]> = [
  ["/", "index.html", "text/html; charset=utf-8"],
  ["/page.js", "page.js", "text/javascript; charset=utf-8"],
  ["/page.css", "page.css", "text/css; charset=utf-8"],
];

/** The folder the assets are read from. */
export const ASSETS_DIR = join(import.meta.dirname, "assets");

/** Read the page's files; a missing one is a broken install, said as such. */
export function loadPageAssets(dir = ASSETS_DIR): readonly PageAsset[] {
  return FILES.map(([path, file, type]) => {
    let body: Buffer;
    try {
      body = readFileSync(join(dir, file));
    } catch (cause) {
      throw new WardenError(
        "internal",
        `The admin page's file ${join(dir, file)} cannot be read: the install is incomplete. Reinstall Warden (or run npm run build in a checkout).`,
        { category: "config", details: { file: join(dir, file) }, cause },
      );
    }
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
    return Object.freeze({ path, type, body, etag });
  });
}
