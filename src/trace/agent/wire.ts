/**
 * The messages between an agent's hooks (the traced thread) and its flusher thread, which
 * talks HTTP to `warden run`. Events cross as the protocol's JSON text already (`EventJson`),
 * a batch as one string: the flusher joins and posts them.
 */
export type ToFlusher =
  /** A batch: `n` events' JSON texts joined by commas, as UTF-8 (its buffer transferred). */
  | { readonly t: "ev"; readonly b: Uint8Array; readonly n: number }
  | { readonly t: "configure"; readonly body: unknown }
  /** `/configure` as a registration only (the answer came in a file): not answered. */
  | { readonly t: "hello"; readonly body: unknown }
  | { readonly t: "ready"; readonly body: unknown }
  | { readonly t: "child"; readonly body: unknown }
  /** The event under review, as JSON text. */
  | { readonly t: "review"; readonly ev: string }
  | { readonly t: "bye"; readonly sent: number };

/** The flusher's answer to a synchronous request (configure, review, bye). */
export type FromFlusher =
  | { readonly ok: true; readonly body: unknown }
  | { readonly ok: false; readonly error: string };

/** Slots of the shared Int32Array: answers posted, events acknowledged by the CLI. */
export const SLOT_ANSWERS = 0;
export const SLOT_ACKED = 1;

/** workerData key that marks the flusher thread (the preload then does nothing there). */
export const FLUSHER_MARK = "__wardenTraceFlusher";
