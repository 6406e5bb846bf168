/**
 * A raw-AMI listener, over TCP or TLS: each connection becomes an AmiClientSession of the hub.
 *
 * Order on a new connection: the listener's permit/deny first (a refused address is closed
 * before anything is read or written); then, for TLS, the handshake — within authtimeout, and
 * with tls_client_ca a client certificate that CA signed — and only then the session, whose
 * banner is the first thing the client reads.
 */
import net from 'node:net';
import tls from 'node:tls';
import { formatHostPort, type HostPort } from '../config/index.js';
import type { FormatModule } from '../formats.js';
import type { Hub } from '../hub.js';
import type { ListenerTlsOptions } from '../tls/server-tls.js';
import { AmiClientSession } from './ami-client-session.js';
import { ConnectionGate } from './connection-gate.js';

export interface AmiListenerOptions {
  /** Its [listener NAME]; absent for a [general] listen or listen_tls line. */
  readonly name?: string;
  /** Raw AMI over TLS. */
  readonly tls?: ListenerTlsOptions;
}

export class AmiTcpListener {
  readonly name: string | undefined;
  private readonly server: net.Server;
  private readonly gate: ConnectionGate;
  private readonly secureContext: tls.SecureContext | undefined;
  private boundPort: number | undefined;

  constructor(
    private readonly hub: Hub,
    readonly address: HostPort,
    private readonly format: FormatModule,
    options: AmiListenerOptions = {},
  ) {
    this.name = options.name;
    this.gate = new ConnectionGate(hub, { listener: options.name }, () => this.label);
    const t = options.tls;
    this.secureContext = t ? tls.createSecureContext({ cert: t.cert, key: t.key, ...(t.ca ? { ca: t.ca } : {}) }) : undefined;
    this.server = net.createServer((socket) => {
      if (!this.gate.admit(socket)) return;
      if (this.secureContext) this.handshake(socket, this.secureContext, t!);
      else this.startSession(socket);
    });
    this.server.on('error', (err) => this.hub.log.error({ err: err.message, listen: address }, 'listener error'));
  }

  /** Whether it speaks TLS. */
  get tls(): boolean {
    return this.secureContext !== undefined;
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

  /** Stops accepting; connected clients are closed by the hub. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private startSession(socket: net.Socket): void {
    const client = new AmiClientSession(socket, this.hub, this.format);
    client.listener = this.label;
    this.hub.addClient(client);
  }

  /**
   * The server side of a TLS handshake on an accepted socket; the session starts once it is
   * done (and the client certificate, when one is required, is accepted). A failure or a
   * handshake not done within authtimeout closes the connection, logged once.
   */
  private handshake(socket: net.Socket, secureContext: tls.SecureContext, t: ListenerTlsOptions): void {
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext, requestCert: t.requestCert, rejectUnauthorized: t.rejectUnauthorized });
    let done = false;
    const end = (reason: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.hub.log.info({ remote, listener: this.label, reason }, 'TLS connection refused');
      secure.destroy();
    };
    const timeoutS = this.hub.config.general.authTimeout;
    const timer = setTimeout(() => end(`no TLS handshake within authtimeout (${timeoutS} s)`), timeoutS * 1000);
    const onError = (err: Error) => end(`TLS handshake failed: ${err.message}`);
    const onClose = () => end('closed by the client during the TLS handshake');
    secure.on('error', onError);
    secure.once('close', onClose);
    secure.once('secure', () => {
      if (done) return;
      if (t.requestCert && !secure.authorized) {
        end(`client certificate not accepted (${String(secure.authorizationError ?? 'none given')})`);
        return;
      }
      done = true;
      clearTimeout(timer);
      secure.off('error', onError);
      secure.off('close', onClose);
      this.startSession(secure);
    });
  }
}
