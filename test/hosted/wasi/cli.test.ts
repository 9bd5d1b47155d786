/**
 * wasi:cli, clocks and random through Warden's host: only the environment keys the policy
 * allows exist (an unlisted secret is hidden, and the event names it and what to add); exit
 * and stdin end the call, never the host; clocks and random work.
 */
import { describe, expect, it } from "vitest";
import { isWardenError } from "../../../src/core/errors.js";
import { ComponentExit } from "../../../src/hosted/host-seam.js";
import { hostWith } from "./helpers.js";

const policy = {
  source: 'version: "1.0"\nenvironment:\n  allow:\n    - key: API_KEY\n  deny:\n    - "*SECRET*"\n',
  file: "env-policy.yaml",
};
const environment = { HOME: "/home/agent", API_KEY: "k-123", MY_SECRET_TOKEN: "s3cr3t" };

describe("wasi:cli/environment", () => {
  it("shows only the allowed keys; an unlisted secret does not exist, and the event names it", () => {
    const { host, events } = hostWith({ component: "env-tool", policy, environment });
    const env = (
      host.imports["wasi:cli/environment"]!.getEnvironment as () => [string, string][]
    )();
    expect(env).toEqual([["API_KEY", "k-123"]]);
    const ev = events.find((e) => e.function === "get-environment")!;
    expect(ev.hidden).toEqual(["HOME", "MY_SECRET_TOKEN"]);
    expect(ev.hint).toBe('add `- "HOME"` under environment.allow');
    expect(JSON.stringify(events)).not.toContain("s3cr3t");
    expect(host.takeDenials().map((e) => e.function)).toEqual(["get-environment"]);
  });

  it("with no policy, nothing exists", () => {
    const { host } = hostWith({ component: "env-tool", environment });
    expect((host.imports["wasi:cli/environment"]!.getEnvironment as () => unknown[])()).toEqual([]);
  });

  it("arguments are the component's name; no working directory", () => {
    const { host } = hostWith({ component: "env-tool", policy });
    const cli = host.imports["wasi:cli/environment"]!;
    expect((cli.getArguments as () => string[])()).toEqual(["env-tool"]);
    expect((cli.initialCwd as () => unknown)()).toBeUndefined();
  });
});

describe("wasi:cli exit and stdin", () => {
  it("exit ends the call with the seam's ComponentExit, not the process", () => {
    const { host } = hostWith({ component: "quitter", policy });
    let err: unknown;
    try {
      (host.imports["wasi:cli/exit"]!.exit as (s: unknown) => void)({ tag: "err" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ComponentExit);
    expect((err as ComponentExit).ok).toBe(false);
  });

  it("stdin is not given: the stream exists (C's adapter asks for it), reading it is hosted_wasi_trap", () => {
    const { host } = hostWith({ component: "reader", policy });
    const stdin = (host.imports["wasi:cli/stdin"]!.getStdin as () => Record<string, unknown>)();
    expect(stdin).toBeInstanceOf(host.imports["wasi:io/streams"]!.InputStream as object as never);
    for (const m of ["read", "blockingRead", "skip", "blockingSkip", "subscribe"]) {
      let err: unknown;
      try {
        (stdin[m] as (n: bigint) => unknown)(1n);
      } catch (e) {
        err = e;
      }
      expect(isWardenError(err) && err.code).toBe("hosted_wasi_trap");
      expect((err as Error).message).toContain('"reader" read stdin');
    }
    (stdin[Symbol.dispose as never] as () => void)();
  });
});

describe("wasi:clocks and wasi:random", () => {
  it("work, and are counted", () => {
    const { host } = hostWith({ component: "c", policy });
    const now = (host.imports["wasi:clocks/monotonic-clock"]!.now as () => bigint)();
    expect(typeof now).toBe("bigint");
    const wall = (host.imports["wasi:clocks/wall-clock"]!.now as () => { seconds: bigint })();
    expect(wall.seconds > 0n).toBe(true);
    const bytes = (host.imports["wasi:random/random"]!.getRandomBytes as (n: bigint) => Uint8Array)(
      16n,
    );
    expect(bytes.length).toBe(16);
    expect(host.metrics().map((m) => m.interface)).toContain("wasi:random/random");
  });
});

describe("imports", () => {
  it("an interface Warden does not provide is refused at load, naming it", () => {
    const { host } = hostWith({ component: "c", policy });
    expect(() =>
      host.importObject(["wasi:cli/environment@0.2.3", "wasi:keyvalue/store@0.2.0"]),
    ).toThrow(/imports wasi:keyvalue\/store@0\.2\.0/);
    const o = host.importObject(["wasi:cli/environment@0.2.3", "wasi:io/streams"]);
    expect(Object.keys(o)).toEqual(["wasi:cli/environment@0.2.3", "wasi:io/streams"]);
  });
});
