// The server's listening sockets: ACCEPT_LISTENERS of them on one host:port.
//
// libuv accepts one connection per listening socket per event-loop iteration (since 1.45,
// "unix: don't accept() connections in a loop"), and under CPU load an iteration lasts as
// long as every ready request takes, so with one socket a burst of new connections to a
// busy server waits one long iteration per connection. With SO_REUSEPORT several sockets
// share the port, the kernel spreads new connections over them, and each is polled every
// iteration: the burst is taken in a few.
//
// SO_REUSEPORT would also let a second server of the same user join the port silently, so
// the port is first taken by one exclusive socket: anything already on it (another Arena,
// any server, sharing or not) makes that fail with "already in use". That socket also picks
// the port for port 0. Only then is it closed and the whole group bound at once, on the
// address and port it got; a server that binds with SO_REUSEPORT in that instant, or later,
// joins (it asked to share). Where SO_REUSEPORT is not supported, one exclusive socket.

import net from "node:net";
import { ArenaError } from "../errors.ts";
import { ACCEPT_LISTENERS } from "../limits.ts";

/** Platforms whose kernel spreads a port's new connections over its SO_REUSEPORT sockets
 *  (Linux 3.9+, FreeBSD 12+ through libuv); elsewhere the server keeps one socket. */
const REUSE_PORT_PLATFORMS: ReadonlySet<string> = new Set(["linux", "freebsd"]);

/** Listens sockets made by `make` on host:port as the comment at the top says; resolves
 *  with them and the bound port, or rejects with the one-line ArenaError. With `join`,
 *  the exclusive socket is skipped: the caller (the primary of several workers) took the
 *  port with one already, and this group joins the others on it. */
export async function listenShared(make: () => net.Server, port: number, host: string, join = false): Promise<{ listeners: net.Server[]; port: number }> {
  if (join) return joinGroup(make, port, host);
  const first = make();
  try {
    await listenOn(first, { port, host });
  } catch (err) {
    throw listenError(err as NodeJS.ErrnoException, port, host);
  }
  const bound = first.address() as net.AddressInfo;
  if (ACCEPT_LISTENERS <= 1 || !REUSE_PORT_PLATFORMS.has(process.platform)) return { listeners: [first], port: bound.port };
  first.close();
  const group = Array.from({ length: ACCEPT_LISTENERS }, make);
  const results = await Promise.allSettled(group.map((l) => listenOn(l, { port: bound.port, host: bound.address, reusePort: true })));
  const failed = results.find((r) => r.status === "rejected");
  if (failed === undefined) return { listeners: group, port: bound.port };
  for (const l of group) if (l.listening) l.close();
  const err = failed.reason as NodeJS.ErrnoException;
  // Taken between the exclusive socket's close and the group's bind: in use, as above.
  if (err.code === "EADDRINUSE") throw listenError(err, bound.port, host);
  // No SO_REUSEPORT here after all (an old kernel): one exclusive socket, as before.
  const single = make();
  try {
    await listenOn(single, { port: bound.port, host: bound.address });
  } catch (err) {
    throw listenError(err as NodeJS.ErrnoException, bound.port, host);
  }
  return { listeners: [single], port: bound.port };
}

/** Whether this platform spreads a port's connections over SO_REUSEPORT sockets: several
 *  workers can share one port only where it does. */
export function reusePortSupported(): boolean {
  return REUSE_PORT_PLATFORMS.has(process.platform);
}

/** Binds ACCEPT_LISTENERS SO_REUSEPORT sockets on a port the caller already checked. */
async function joinGroup(make: () => net.Server, port: number, host: string): Promise<{ listeners: net.Server[]; port: number }> {
  const group = Array.from({ length: ACCEPT_LISTENERS }, make);
  const results = await Promise.allSettled(group.map((l) => listenOn(l, { port, host, reusePort: true })));
  const failed = results.find((r) => r.status === "rejected");
  if (failed === undefined) return { listeners: group, port };
  for (const l of group) if (l.listening) l.close();
  throw listenError(failed.reason as NodeJS.ErrnoException, port, host);
}

/** Takes host:port with one exclusive socket and lets it go: what a primary does before its
 *  workers join the port (a port in use fails here, in one line), and how port 0 becomes
 *  a port. Resolves with the port and the address it bound. */
export async function probePort(port: number, host: string): Promise<{ port: number; address: string }> {
  const probe = net.createServer();
  try {
    await listenOn(probe, { port, host });
  } catch (err) {
    throw listenError(err as NodeJS.ErrnoException, port, host);
  }
  const bound = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return { port: bound.port, address: bound.address };
}

/** Listens `server` with `options`; resolves once it listens, rejects with the error
 *  (emitted, or thrown by listen() itself). */
function listenOn(server: net.Server, options: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off("listening", onListening);
      reject(err);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    try {
      server.listen(options);
    } catch (err) {
      server.off("error", onError);
      server.off("listening", onListening);
      reject(err as Error);
    }
  });
}

/** The one-line ArenaError for a failed listen on host:port. */
function listenError(err: NodeJS.ErrnoException, port: number, host: string): ArenaError {
  if (err.code === "EADDRINUSE") return new ArenaError("ARENA_E_LISTEN", `port ${port} on ${host} is already in use`, "stop the other server or pick another --port");
  if (err.code === "EACCES") return new ArenaError("ARENA_E_LISTEN", `no permission to listen on ${host}:${port}`, "use a port above 1023");
  if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND") return new ArenaError("ARENA_E_LISTEN", `address ${host} is not available on this machine`, "use --host 127.0.0.1 or 0.0.0.0");
  return new ArenaError("ARENA_E_LISTEN", `cannot listen on ${host}:${port}: ${err.message}`);
}
