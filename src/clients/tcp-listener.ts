/** A raw-AMI TCP listener: each connection becomes an AmiClientSession of the hub. */
import net from 'node:net';
import type { HostPort } from '../config/index.js';
import type { FormatModule } from '../formats.js';
import type { Hub } from '../hub.js';
import { AmiClientSession } from './ami-client-session.js';

export class AmiTcpListener {
  private readonly server: net.Server;
  private boundPort: number | undefined;

  constructor(
    private readonly hub: Hub,
    readonly address: HostPort,
    private readonly format: FormatModule,
    /** Its [listener NAME]; absent for a [general] listen line. */
    readonly name?: string,
  ) {
    this.server = net.createServer((socket) => {
      const client = new AmiClientSession(socket, this.hub, this.format);
      client.listener = this.label;
      this.hub.addClient(client);
    });
    this.server.on('error', (err) => this.hub.log.error({ err: err.message, listen: address }, 'listener error'));
  }

  /** Starts listening; resolves with the bound address (the real port when 0 was asked). */
  listen(): Promise<HostPort> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new Error(`cannot listen on ${formatAddress(this.address)}: ${err.message}`));
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
    return this.name ?? formatAddress({ host: this.address.host, port: this.boundPort ?? this.address.port });
  }

  /** Stops accepting; connected clients are closed by the hub. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function formatAddress({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
