// What one instance lets its connections hold: how many may be open, how long a request may take to
// arrive (headers, then the whole of it), and how long a client may leave a response unread. Applies
// to every connection alike, HTTP and WebSocket (an upgraded socket is still one of the server's).
import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";

export type ConnectionLimits = {
  /** Open connections per instance; the next is closed as soon as it is accepted. */
  maxConnections: number;
  /** From a request's first byte to the end of its headers (slowloris). */
  headersTimeoutMs: number;
  /** From a request's first byte to the end of its body. */
  requestTimeoutMs: number;
  /** How long a socket's write buffer may stay full (a client that stopped reading) before it is destroyed. */
  writeTimeoutMs: number;
};

/** Options for `http.createServer`: Node checks the request timeouts every `connectionsCheckingInterval`. */
export function serverOptions(limits: ConnectionLimits) {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node's default (30 s) would let a slow request live that much past its timeout.
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/** Apply the connection cap and the write timeout to `server`; returns what stops the write-timeout sweep. */
export function boundConnections(server: Server, limits: ConnectionLimits, log: Logger): () => void {
  server.maxConnections = limits.maxConnections;
  let dropped = 0;
  let lastDropLog = 0;
  server.on("drop", () => {
    // Logged at most every 10 s: a flood of refused connections must not become a flood of log lines.
    dropped++;
    const now = Date.now();
    if (now - lastDropLog >= 10_000) {
      log.warn({ dropped, maxConnections: limits.maxConnections }, "refused connections over MAX_CONNECTIONS");
      lastDropLog = now;
      dropped = 0;
    }
  });

  // Since when each socket's buffer has been full. Node has no event for "a write returned false", so a
  // sweep notices full buffers and 'drain' clears them; a socket is destroyed once its buffer has stayed
  // full for writeTimeoutMs (give or take one sweep). The work it was writing (a task) goes on.
  const stalled = new Map<Socket, number>();
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("drain", () => stalled.delete(socket));
    socket.once("close", () => {
      sockets.delete(socket);
      stalled.delete(socket);
    });
  });
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const socket of sockets) {
        if (!socket.writableNeedDrain) {
          stalled.delete(socket);
          continue;
        }
        const since = stalled.get(socket);
        if (since === undefined) stalled.set(socket, now);
        else if (now - since >= limits.writeTimeoutMs) {
          log.info({ remoteAddress: socket.remoteAddress, bufferedBytes: socket.writableLength }, "dropped a connection that stopped reading");
          // A reset, not a FIN: the kernel drops what it still holds for this client at once.
          socket.resetAndDestroy();
        }
      }
    },
    Math.max(10, Math.min(1000, Math.floor(limits.writeTimeoutMs / 4))),
  );
  sweep.unref();
  return () => clearInterval(sweep);
}
