/** How logs and the status page name a connection's other end: `address:port` (`?` for what the socket does not know, as after it closed). */
import type net from 'node:net';

export function socketRemote(socket: net.Socket | undefined): string {
  return `${socket?.remoteAddress ?? '?'}:${socket?.remotePort ?? '?'}`;
}
