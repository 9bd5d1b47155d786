/**
 * What a WebAssembly guard needs from the sandbox: compile its core modules under the guard's
 * limits (instrumented for time and fuel, memory capped), instantiate them with metering, and run
 * each invocation under a fresh budget, turning traps and exhausted limits into WardenErrors.
 */
export interface CoreRuntime {
  /** Check, instrument and compile one core module (cached by the sandbox). */
  compile(bytes: Uint8Array, name: string): Promise<WebAssembly.Module>;
  /** Instantiate a compiled core module with the given imports plus the sandbox's own. */
  instantiate(
    module: WebAssembly.Module,
    imports?: WebAssembly.Imports,
  ): Promise<WebAssembly.Instance>;
  /** Run a whole instantiation (start functions included) under the instantiation budget. */
  instantiateComponent<T>(fn: () => Promise<T>): Promise<T>;
  /** Run load-time guest code (settings, warm-up) under the load budget (wider deadline, no fuel). */
  load<T>(fn: () => T): T;
  /** Run one invocation under a fresh budget; throws the sandbox's WardenError on a limit or trap. */
  run<T>(fn: () => T): T;
}
