// Loaded with `node --import ./guard.mjs`: every outgoing TCP connection of this process must
// go to loopback. Anything else (a default Azure host the SDK was not pointed away from,
// instance discovery, telemetry) is refused at connect() and recorded, and sdk.mjs counts
// each recorded attempt as a failure.
import net from "node:net";

const allowed = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);
globalThis.__offLoopbackConnects = [];

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  // net.connect/tls.connect pass [options, cb] normalised as an array; users may pass
  // (options, cb), (port, host, cb) or (path, cb).
  let a = args;
  if (Array.isArray(a[0])) a = a[0];
  let host, port, path;
  if (a[0] !== null && typeof a[0] === "object") ({ host, port, path } = a[0]);
  else if (typeof a[0] === "string" && !/^\d+$/.test(a[0])) path = a[0];
  else { port = a[0]; host = typeof a[1] === "string" ? a[1] : undefined; }
  if (path === undefined && !allowed.has(host ?? "localhost")) {
    const where = `${host}:${port}`;
    globalThis.__offLoopbackConnects.push(where);
    process.stderr.write(`guard: refused a connection to ${where} (only loopback is allowed)\n`);
    this.destroy(new Error(`guard: connection to ${where} refused: only loopback is allowed`));
    return this;
  }
  return connect.apply(this, args);
};
