/**
 * A raw-AMI listener, over TCP or TLS: each connection becomes an AmiClientSession of the hub.
 *
 * Order on a new connection: the listener's permit/deny first, on the bare socket (a refused
 * address is closed before anything is read or written); then, for TLS, the handshake — within
 * authtimeout (as at start), and with tls_client_ca a client certificate that CA signed — and
 * only then the session, whose banner is the first thing the client reads. A handshake under
 * way counts against authlimit like a connection waiting to log in. A connection
 * refused during or after the handshake is logged once, at info.
 */
import net from 'node:net';
import tls from 'node:tls';
import { formatHostPort, type HostPort } from '../../config/index.js';
import type { FormatModule } from '../../formats.js';
import type { Hub } from '../../hub.js';
import { clientCertificateRefusal, tlsServerOptions, type ListenerTlsOptions } from '../../tls/server-tls.js';
import { AmiClientSession, type ClientOptions } from './ami-client-session.js';
import { closedByGate, closeRefused, ConnectionGate, PendingHandshakes } from '../shared/connection-gate.js';
import { socketRemote } from '../shared/socket-remote.js';

export interface AmiListenerOptions {
  /** Its [listener NAME]; absent for a [general] listen or listen_tls line. */
  readonly name?: string;
  /** Raw AMI over TLS. */
  readonly tls?: ListenerTlsOptions;
  /** What its clients send, and what they receive (see ClientOptions). */
  readonly client?: ClientOptions;
  /** Its clients act as this user without logging in (a [listener]'s anonymous_user). */
  readonly anonymousUser?: string;
}

export class AmiTcpListener {
  readonly name: string | undefined;
  /** Whether it speaks TLS. */
  readonly tls: boolean;
  private readonly server: net.Server;
  private readonly gate: ConnectionGate;
  private readonly pending: PendingHandshakes;
  private boundPort: number | undefined;
  private readonly clientOptions: ClientOptions;
  private readonly anonymousUser: string | undefined;

  constructor(
    private readonly hub: Hub,
    readonly address: HostPort,
    private readonly format: FormatModule,
    options: AmiListenerOptions = {},
  ) {
    this.name = options.name;
    this.clientOptions = { ...options.client, secure: options.tls !== undefined };
    this.anonymousUser = options.anonymousUser;
    this.tls = options.tls !== undefined;
    this.gate = new ConnectionGate(hub, { listener: options.name }, () => this.label);
    this.pending = new PendingHandshakes(() => hub.endHandshake());
    const t = options.tls;
    if (t) {
      const timeoutS = hub.config.general.authTimeout;
      // A client certificate is refused below, not by node (see tlsServerOptions).
      const server = tls.createServer(tlsServerOptions(t, timeoutS * 1000));
      server.on('secureConnection', (socket: tls.TLSSocket) => {
        this.pending.done(socket);
        const refused = clientCertificateRefusal(socket, t);
        if (refused !== undefined) {
          this.refusedTls(socket, refused);
          socket.destroy();
          return;
        }
        this.startSession(socket);
      });
      server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
        if (closedByGate(socket)) return;
        this.refusedTls(socket, err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? `no TLS handshake within authtimeout (${timeoutS} s)` : `TLS handshake failed: ${err.message}`);
        // With a tlsClientError listener, node leaves the closing to it.
        socket.destroy();
      });
      this.server = server;
    } else {
      this.server = net.createServer((socket) => {
        if (!socket.destroyed) this.startSession(socket);
      });
    }
    // Before the TLS handshake or the session: who may connect.
    this.server.prependListener('connection', (socket: net.Socket) => {
      if (!this.gate.admit(socket) || !this.tls) return;
      // A handshake under way counts against authlimit, as a connection waiting to log in does.
      if (this.hub.beginHandshake(socketRemote(socket))) this.pending.add(socket);
      else closeRefused(socket);
    });
    this.server.on('error', (err) => this.hub.log.error({ err: err.message, listen: address }, 'listener error'));
  }

  /** Starts listening; resolves with the bound address (the real port when 0 was asked). */
  listen(): Promise<HostPort> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new Error(`cannot listen${this.tls ? ' for TLS' : ''} on ${formatHostPort(this.address)}: ${err.message}`));
      this.server.once('error', onError);
      this.server.listen(this.address.port, this.address.host, () => {
        this.server.off('error', onError);
        const bound = this.server.address() as net.AddressInfo;
        this.boundPort = bound.port;
        resolve({ host: this.address.host, port: bound.port });
      });
    });
  }

  /** How its clients and metrics name it: its [listener] name, else its address (with the bound port). */
  get label(): string {
    return this.name ?? formatHostPort({ host: this.address.host, port: this.boundPort ?? this.address.port });
  }

  /** Stops accepting and ends the TLS handshakes under way; connected clients are closed by the hub. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.pending.destroyAll();
    return closed;
  }

  private startSession(socket: net.Socket): void {
    const client = new AmiClientSession(socket, this.hub, this.format, this.clientOptions);
    client.listener = this.label;
    this.hub.addClient(client);
    const anonymous = this.anonymousUser === undefined ? undefined : this.hub.findUser(this.anonymousUser);
    if (anonymous !== undefined) client.enterAnonymous(anonymous);
  }

  private refusedTls(socket: net.Socket, reason: string): void {
    this.hub.log.info({ remote: socketRemote(socket), listener: this.label, reason }, 'TLS connection refused');
  }
}
