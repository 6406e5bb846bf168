/**
 * The node's connection to NATS: options from [cluster] (servers, credentials, TLS), reconnects
 * forever, and every change of state logged and reported. A NATS server that is down at start
 * does not stop amiplex: the node waits for one, serving what it can.
 */
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { ClusterConfig } from '../config/index.js';
import { resolveConfigPath } from '../config/index.js';
import type { Logger } from '../log.js';
import type { NatsState } from './cluster-status.js';

export interface NatsEvents {
  /** Connected for the first time, or again after a disconnection. */
  up(server: string, again: boolean): void;
  down(server: string): void;
}

export function natsOptions(config: ClusterConfig, configFile: string, node: string): NodeConnectionOptions {
  const ttlMs = config.leaseTtl * 1000;
  const options: NodeConnectionOptions = {
    servers: config.nats,
    name: `amiplex ${node}`,
    // Reconnect forever, and notice a silent server well within a lease TTL.
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: Math.min(2000, Math.max(250, ttlMs / 10)),
    pingInterval: Math.max(1000, Math.floor(ttlMs / 4)),
    maxPingOut: 2,
    timeout: Math.max(1000, Math.floor(ttlMs / 2)),
  };
  if (config.user !== undefined) Object.assign(options, { user: config.user, pass: config.password });
  if (config.token !== undefined) options.token = config.token;
  if (config.creds !== undefined) {
    const creds = readFileSync(resolveConfigPath({ file: configFile }, config.creds));
    options.authenticator = credsAuthenticator(new Uint8Array(creds));
  }
  const tls: NonNullable<NodeConnectionOptions['tls']> = {};
  if (config.tlsCa !== undefined) tls.caFile = resolveConfigPath({ file: configFile }, config.tlsCa);
  if (config.tlsCert !== undefined) tls.certFile = resolveConfigPath({ file: configFile }, config.tlsCert);
  if (config.tlsKey !== undefined) tls.keyFile = resolveConfigPath({ file: configFile }, config.tlsKey);
  if (Object.keys(tls).length > 0 || config.nats.every((s) => s.startsWith('tls://'))) options.tls = tls;
  return options;
}

/** The connection, once there is one, and its state. */
export class NatsLink {
  state: NatsState = 'connecting';
  since = Date.now();
  server: string | undefined;
  connection: NatsConnection | undefined;
  private closing = false;

  constructor(
    private readonly options: NodeConnectionOptions,
    private readonly log: Logger,
    private readonly events: NatsEvents,
  ) {
    this.server = String((options.servers as string[])[0] ?? '');
  }

  /** Connects in the background (retrying until a server answers); resolves once connected, or undefined when closed first. */
  async open(): Promise<NatsConnection | undefined> {
    this.log.info({ nats: this.options.servers }, 'cluster: connecting to NATS');
    let nc: NatsConnection;
    try {
      nc = await connect(this.options);
    } catch (err) {
      this.setState('closed');
      if (!this.closing) this.log.error({ err: String(err) }, 'cluster: cannot connect to NATS');
      return undefined;
    }
    if (this.closing) {
      await nc.close().catch(() => undefined);
      return undefined;
    }
    this.connection = nc;
    this.server = nc.getServer();
    this.setState('connected');
    this.log.info({ server: this.server }, 'cluster: connected to NATS');
    void this.watch(nc);
    void nc.closed().then((err) => {
      this.setState('closed');
      if (!this.closing) this.log.error({ err: String(err ?? 'closed') }, 'cluster: the NATS connection closed for good');
    });
    this.events.up(this.server, false);
    return nc;
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.server = s.server;
        this.setState('disconnected');
        if (!this.closing) this.log.warn({ server: s.server }, 'cluster: NATS unreachable; serving the PBXes this node holds until their leases run out');
        this.events.down(s.server);
      } else if (s.type === 'reconnect') {
        this.server = s.server;
        this.setState('connected');
        this.log.info({ server: s.server }, 'cluster: reconnected to NATS');
        this.events.up(s.server, true);
      } else if (s.type === 'error') {
        this.log.warn({ err: String(s.error) }, 'cluster: NATS error');
      }
    }
  }

  private setState(state: NatsState): void {
    if (state === this.state) return;
    this.state = state;
    this.since = Date.now();
  }

  async close(): Promise<void> {
    this.closing = true;
    const nc = this.connection;
    if (nc === undefined) return;
    await nc.drain().catch(() => nc.close().catch(() => undefined));
  }
}

/** The node name when [cluster] gives none: the host name, characters NATS subjects cannot carry turned into "-". */
export function defaultNodeName(hostname: string): string {
  const name = hostname.replace(/[^A-Za-z0-9_-]/g, '-');
  return name === '' ? 'amiplex' : name;
}
