/**
 * Reading a plugin_dir module: only a regular file (a FIFO, a device such as /dev/zero or a
 * folder named x.wasm would block or never end), opened without blocking and read to at most
 * the module size limit, so a file that is or grows too large cannot fill memory.
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { WardenError } from "../../core/errors.js";

export async function readModuleFile(file: string, maxBytes: number): Promise<Uint8Array> {
  const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile())
      throw new WardenError(
        "registry_corrupt",
        `${file} is not a regular file; a plugin in wasm.plugin_dir is a .wasm file`,
        { category: "config", details: { file } },
      );
    const tooLarge = () =>
      new WardenError(
        "too_large",
        `${file} is larger than ${maxBytes} bytes, the most a plugin module may be`,
        { category: "config", details: { file, limit: maxBytes } },
      );
    if (st.size > maxBytes) throw tooLarge();
    const buf = new Uint8Array(maxBytes + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > maxBytes) throw tooLarge();
    }
    return buf.slice(0, n);
  } finally {
    await fh.close();
  }
}
