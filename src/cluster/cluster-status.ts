/**
 * What the status page, /metrics and ProxyListServers show of the cluster. Types only: the hub
 * and the status modules read them without loading any NATS code.
 */
export type NatsState = 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface ClusterNodeView {
  readonly name: string;
  /** This node. */
  readonly self: boolean;
  /** The PBXes its [server] sections name. */
  readonly servers: readonly string[];
  /** Its set of [server] sections differs from this node's. */
  readonly mismatch: boolean;
}

export interface ClusterStatus {
  readonly cluster: string;
  readonly node: string;
  readonly nats: NatsState;
  /** The NATS server connected to (or last tried). */
  readonly natsServer: string | undefined;
  /** When `nats` last changed (ms since the epoch). */
  readonly natsSince: number;
  readonly leaseTtl: number;
  /** The live nodes, this one included once it is registered. */
  readonly nodes: readonly ClusterNodeView[];
  /** Per PBX: the node holding it ('' while none does). */
  readonly holders: Readonly<Record<string, string>>;
  /** Lease takeovers and losses by this node since it started. */
  readonly takeovers: number;
  readonly leasesLost: number;
}
