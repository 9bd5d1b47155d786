/**
 * A bound on the connections a listener holds: in all (`server.maxConnections`, node closes a
 * connection past it at once) and per remote address, so that one client holding sockets open
 * (a partial head lasts up to headers_timeout_seconds, an idle keep-alive keep_alive_seconds)
 * can neither run the process out of file descriptors nor take every slot from the others.
 * A connection refused here is destroyed before any byte is read; `onDrop` hears of it (at most
 * once a second per listener, with the count since the last report).
 */
import type { Server } from "node:net";

export interface ConnectionCap {
  /** Connections held at once, in all. */
  readonly total: number;
  /** Connections held at once from one remote address. */
  readonly perAddress: number;
}

export function capConnections(
  server: Server,
  cap: ConnectionCap,
  onDrop?: (dropped: number, why: string) => void,
): void {
  server.maxConnections = cap.total;
  const open = new Map<string, number>();
  let dropped = 0;
  let lastReport = 0;
  const drop = (why: string) => {
    dropped++;
    const now = Date.now();
    if (onDrop !== undefined && now - lastReport >= 1000) {
      lastReport = now;
      onDrop(dropped, why);
      dropped = 0;
    }
  };
  server.on("drop", () => drop(`it holds ${cap.total} connections (the total bound)`));
  // "connection" for plain HTTP; "secureConnection" would come after the TLS handshake, so the
  // raw TCP connection is counted for HTTPS too (node:https emits "connection" for it).
  server.on("connection", (socket) => {
    const addr = socket.remoteAddress ?? "";
    const n = open.get(addr) ?? 0;
    if (n >= cap.perAddress) {
      socket.destroy();
      drop(`${addr} holds ${cap.perAddress} connections (the per-address bound)`);
      return;
    }
    open.set(addr, n + 1);
    socket.once("close", () => {
      const left = (open.get(addr) ?? 1) - 1;
      if (left <= 0) open.delete(addr);
      else open.set(addr, left);
    });
  });
}
