/**
 * Attacker tests against wasi:filesystem through Warden's host, with a deny rule on a folder
 * inside the granted one: the protected files must stay out of reach however the component
 * renames, links or walks around them.
 */
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import type { Descriptor } from "../../../src/hosted/wasi/host.js";
import { deniedFolderHost, deniedFolderTree, wasiError } from "./helpers.js";

let allowed: string;

beforeEach(() => {
  allowed = deniedFolderTree("warden-wasi-hostile-fs-", {
    "team/private/key.txt": "the private key",
    "readme.txt": "hello",
  });
});

const setup = () => deniedFolderHost(allowed, "read, write");

const READ = { read: true };
const FOLLOW = { symlinkFollow: true };
const readAll = (d: Descriptor, path: string) => {
  const f = d.openAt(FOLLOW, path, {}, READ) as Descriptor;
  return new TextDecoder().decode((f.read(1000n, 0n) as [Uint8Array, boolean])[0]);
};

describe("wasi:filesystem: a denied folder inside the granted one", () => {
  it("is refused directly, through a planted link, and through a hard link", () => {
    const { data } = setup();
    expect(readAll(data, "readme.txt")).toBe("hello");
    expect(wasiError(() => readAll(data, "team/private/key.txt"))).toBe("access");
    symlinkSync("team/private/key.txt", join(allowed, "planted"));
    expect(wasiError(() => readAll(data, "planted"))).toBe("access");
    expect(wasiError(() => data.linkAt({}, "team/private/key.txt", data, "copy"))).toBe("access");
  });

  it("renaming the denied folder, or moving a file out of it, is refused", () => {
    const { data } = setup();
    expect(wasiError(() => data.renameAt("team/private", data, "public"))).toBe("access");
    expect(wasiError(() => data.renameAt("team/private/key.txt", data, "key.txt"))).toBe("access");
  });

  it("renaming an ancestor of the denied folder does not carry its files out of the rule", () => {
    const { data, events } = setup();
    expect(wasiError(() => data.renameAt("team", data, "moved"))).toBe("access");
    expect(events.at(-1)).toMatchObject({ decision: "deny", code: "deny_rule" });
    expect(events.at(-1)!.reason).toContain("moves");
    expect(wasiError(() => readAll(data, "moved/private/key.txt"))).toBe("no-entry");
    expect(wasiError(() => readAll(data, "team/private/key.txt"))).toBe("access");
  });

  it("a folder holding nothing protected is renamed as before; moving one into the denied folder is refused", () => {
    const { data } = setup();
    mkdirSync(join(allowed, "notes", "deep"), { recursive: true });
    writeFileSync(join(allowed, "notes", "deep", "n.txt"), "note");
    data.renameAt("notes", data, "notes2");
    expect(readAll(data, "notes2/deep/n.txt")).toBe("note");
    expect(wasiError(() => data.renameAt("notes2", data, "team/private/notes"))).toBe("access");
  });
});
