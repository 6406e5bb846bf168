/**
 * Who may connect to a listener, checked on the bare socket as it is accepted — before a TLS
 * handshake, a banner or a byte of HTTP is read or written: a refused address has its
 * connection closed at once, is counted, and logged (info) — at most one line a second per
 * listener, which says how many refusals it did not log, so a port scan cannot flood the log.
 *
 * A listener of [general] (listen, listen_tls, http, https) follows [general] permit / deny; a
 * [listener NAME] its own permit / deny only. Both are read from the configuration in force
 * when the connection comes, so a reload (SIGHUP) changes them for the next connection.
 */
import type net from 'node:net';
import { compileAcl, type Acl } from '../../access/acl.js';
import type { Hub } from '../../hub.js';
import { socketRemote } from './socket-remote.js';

/** Whose permit / deny a listener follows: [general]'s, or those of its [listener NAME]. */
export type AclScope = { readonly listener?: string };

interface AclSource {
  readonly permit?: readonly string[];
  readonly deny?: readonly string[];
}

/** Compiled once per (frozen) section object: a reload brings new objects, hence new ACLs. */
const compiled = new WeakMap<AclSource, Acl>();
/** Sockets a gate closed. */
const closed = new WeakSet<net.Socket>();

export class ConnectionGate {
  /** The last section found, kept when a reload removes a [listener] (it runs until a restart). */
  private last: AclSource | undefined;
  private lastLogAt = 0;
  /** Refusals since the last logged one. */
  private unlogged = 0;

  constructor(
    private readonly hub: Hub,
    private readonly scope: AclScope,
    /** How the log names the listener. */
    readonly label: () => string,
  ) {}

  /** The ACL in force now. */
  acl(): Acl {
    const config = this.hub.config;
    const source = this.scope.listener === undefined ? config.general : config.listeners.find((l) => l.name === this.scope.listener) ?? this.last;
    this.last = source;
    if (source === undefined) return compileAcl();
    let acl = compiled.get(source);
    if (!acl) {
      acl = compileAcl(source.permit, source.deny);
      compiled.set(source, acl);
    }
    return acl;
  }

  /** Whether the connection may go on; a refused one is destroyed here, logged and counted. */
  admit(socket: net.Socket): boolean {
    if (this.acl().allows(socket.remoteAddress)) return true;
    this.hub.counters.aclRefusedConnections++;
    const now = Date.now();
    if (now - this.lastLogAt >= 1000) {
      this.lastLogAt = now;
      this.hub.log.info({ remote: socketRemote(socket), listener: this.label(), notLogged: this.unlogged }, 'connection refused: address not allowed (permit/deny)');
      this.unlogged = 0;
    } else {
      this.unlogged++;
    }
    closeRefused(socket);
    return false;
  }

}

/** Closes a connection refused before its TLS handshake, so that the TLS server's report of it is ignored. */
export function closeRefused(socket: net.Socket): void {
  closed.add(socket);
  socket.destroy();
}

/**
 * Whether a gate closed this connection: a TLS server then reports the wrapped socket's
 * handshake as failed, which is no news. Takes the accepted socket or the TLSSocket over it.
 */
export function closedByGate(socket: net.Socket): boolean {
  return closed.has(acceptedSocket(socket));
}

/** The socket a listener accepted: itself, or the one a server-side TLSSocket wraps. */
function acceptedSocket(socket: net.Socket): net.Socket {
  return (socket as net.Socket & { _parent?: net.Socket })._parent ?? socket;
}

/**
 * Connections of a TLS listener still in their handshake: a listener that closes ends them
 * (they are no one's clients yet, and would hold its close until their handshake timeout).
 */
export class PendingHandshakes {
  private readonly sockets = new Set<net.Socket>();

  /** `settled` is called once per added socket, when its handshake is done or it closed first. */
  constructor(private readonly settled: () => void = () => {}) {}

  /** An accepted socket (call from the server's 'connection' event). */
  add(socket: net.Socket): void {
    if (socket.destroyed) {
      this.settled();
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.remove(socket));
  }

  /** Its handshake is done (the TLSSocket of 'secureConnection'). */
  done(secure: net.Socket): void {
    this.remove(acceptedSocket(secure));
  }

  destroyAll(): void {
    for (const socket of [...this.sockets]) {
      this.remove(socket);
      socket.destroy();
    }
  }

  private remove(socket: net.Socket): void {
    if (this.sockets.delete(socket)) this.settled();
  }
}
