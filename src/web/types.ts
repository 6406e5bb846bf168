/**
 * The shape of `/status.json` as the page reads it: the browser's copy of the server's
 * StatusReport (src/status/status-report.ts) and ClusterStatus (src/cluster/cluster-status.ts),
 * kept apart because the page is built for the browser with its own tsconfig.
 * test/status-page-cluster-words.test.ts fails to compile when the server's shape no longer fits.
 */

export type ServerState = 'connecting' | 'authenticating' | 'up' | 'down' | 'stopped';

export interface ServerReport {
  readonly name: string;
  readonly state: ServerState;
  readonly amiVersion: string | null;
  readonly host: string;
  readonly port: number;
  readonly address: string;
  readonly stateSince: string;
  readonly upSince: string | null;
  readonly uptimeS: number | null;
  readonly eventsIn: number;
  readonly eventsPerSecond: number | null;
  readonly reconnects: number;
  readonly pendingActions: number;
  readonly lastError: string | null;
  /** Cluster mode only: the node holding the PBX ('' while none does). */
  readonly node?: string;
}

/** The NATS connection of this node: `disconnected` after it was connected, `closed` for good. */
export type NatsState = 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface ClusterNodeReport {
  readonly name: string;
  readonly self: boolean;
  /** The PBXes its [server] sections name. */
  readonly servers: readonly string[];
  /** Its [server] sections differ from this node's (names or settings). */
  readonly mismatch: boolean;
}

/** Cluster mode only (a [cluster] section). */
export interface ClusterReport {
  readonly cluster: string;
  readonly node: string;
  readonly nats: NatsState;
  readonly natsServer?: string;
  /** When `nats` last changed (ms since the epoch, amiplex's clock). */
  readonly natsSince: number;
  /** Seconds. */
  readonly leaseTtl: number;
  /** The live nodes, this one included once registered. */
  readonly nodes: readonly ClusterNodeReport[];
  /** Per PBX: the node holding it ('' while none does). */
  readonly holders: Readonly<Record<string, string>>;
  readonly takeovers: number;
  readonly leasesLost: number;
}

export interface ClientReport {
  readonly kind: 'ami' | 'sse' | 'websocket';
  readonly id: number;
  readonly user: string | null;
  readonly remote: string;
  readonly format: string;
  readonly eventsSent: number;
  readonly eventsDropped: number | null;
  readonly buffered: number;
  readonly connectedAt: string;
  readonly connectedS: number;
}

export interface StatusReport {
  readonly amiplex: { readonly version: string; readonly startedAt: string; readonly uptimeS: number; readonly now: string };
  readonly me: { readonly name: string; readonly servers: readonly string[]; readonly channels: readonly string[]; readonly context: string | null };
  readonly totals: {
    readonly eventsIn: number;
    readonly eventsPerSecond: number | null;
    readonly eventsDelivered: number;
    readonly eventsDropped: number;
    readonly actionsForwarded: number;
    readonly failedLogins: number;
    readonly slowClientsDropped: number;
    readonly amiClients: number;
    readonly eventStreams: number;
    readonly webSockets: number;
    readonly httpSessions: number;
  };
  readonly servers: readonly ServerReport[];
  readonly cluster?: ClusterReport;
  readonly clients: readonly ClientReport[];
  readonly clientsOmitted: number;
}

/** One event of `GET /events`: the json format's object (a repeated name holds an array). */
export type AmiEvent = Readonly<Record<string, string | readonly string[]>>;
