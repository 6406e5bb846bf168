/**
 * Who holds which PBX: the leases of the key-value bucket, driven by the pure Lease state
 * machine. Every node registers itself (`node.<name>`, a lease on its name, carrying the PBXes
 * it knows), watches the bucket, and at each tick decides per PBX from the live nodes
 * (rendezvous hashing): claim a free lease it should hold, renew the ones it holds, hand one
 * over cleanly to a node that joined and should hold it, drop a session whose lease it could not
 * renew in time. Taking a lease starts the hub's AMI session to that PBX; losing it closes it.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import { toWire, type AmiMessage } from '../ami/message.js';
import type { ServerConfig } from '../config/index.js';
import type { Hub, RemoteServer } from '../hub.js';
import type { Logger } from '../log.js';
import type { UpstreamStatus } from '../upstream/upstream-session.js';
import type { ClusterNodeView } from './cluster-status.js';
import { Lease, leaseTiming, type HolderRecord, type LeaseStep, type LeaseTiming } from './lease.js';
import type { ClusterNames } from './names.js';
import { preferredNode } from './rendezvous.js';

/** A PBX lease's value: its holder, and the holder's session, for the other nodes to show. */
interface PbxRecord extends HolderRecord {
  readonly status?: Omit<UpstreamStatus, 'name' | 'host' | 'port'>;
  readonly upSince?: number;
}

/** A node's registration: the PBXes it knows and a digest of their settings. */
interface NodeRecord extends HolderRecord {
  readonly servers?: readonly string[];
  readonly digest?: string;
}

interface LiveNode {
  readonly record: NodeRecord;
  /** When this node first saw that instance (monotonic ms). */
  readonly firstSeen: number;
  lastSeen: number;
}

export interface OwnershipHooks {
  /** The PBX's holder changed (or it has none now). */
  holderChanged(server: string, node: string | undefined): void;
  /** Publishes a ProxyServerDown on behalf of a holder that vanished. */
  publish(server: string, event: AmiMessage): void;
}

const encoder = new TextEncoder();

/** The digest of the [server] sections that must match across nodes (secrets left out). */
export function serversDigest(servers: readonly ServerConfig[]): string {
  const shape = servers.map(({ secret: _secret, ...rest }) => rest).sort((a, b) => (a.name < b.name ? -1 : 1));
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex').slice(0, 16);
}

export class Ownership {
  private kv: KV | undefined;
  private readonly timing: LeaseTiming;
  private readonly nodeLease: Lease;
  private readonly leases = new Map<string, Lease>();
  private readonly nodes = new Map<string, LiveNode>();
  private readonly remote = new Map<string, string | undefined>();
  private readonly deadlines = new Map<string, NodeJS.Timeout>();
  private readonly mismatchLogged = new Map<string, string>();
  private tickTimer: NodeJS.Timeout | undefined;
  /** A look at the instant the next lease or node registration of another node runs out. */
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiryAt = Number.POSITIVE_INFINITY;
  private watcher: { stop(): void } | undefined;
  private registeredAt: number | undefined;
  private stopping = false;
  takeovers = 0;
  leasesLost = 0;

  constructor(
    private readonly hub: Hub,
    private readonly names: ClusterNames,
    readonly node: string,
    private readonly instance: string,
    ttlSeconds: number,
    private readonly log: Logger,
    private readonly hooks: OwnershipHooks,
  ) {
    this.timing = leaseTiming(ttlSeconds * 1000);
    const now = performance.now();
    this.nodeLease = new Lease(names.nodeKey(node), node, instance, this.timing, now);
  }

  private get requestTimeoutMs(): number {
    return Math.max(500, Math.floor(this.timing.ttlMs / 6));
  }

  private get digest(): string {
    return serversDigest(this.hub.config.servers);
  }

  /** Creates (or opens) the bucket, watches it and starts deciding; NATS is reachable. */
  async start(nc: NatsConnection): Promise<void> {
    // Every lease request gives up well within a renewal period, so a lost one never holds up the next.
    const timeout = this.requestTimeoutMs;
    const kvm = new Kvm(jetstream(nc, { timeout }));
    this.kv = await kvm.create(this.names.bucket, { ttl: this.timing.ttlMs, history: 1, timeout });
    await this.watch();
    this.tickTimer ??= setInterval(() => this.tick(), Math.max(50, this.timing.ttlMs / 10));
    this.tickTimer.unref();
    this.tick();
  }

  /** NATS came back: watch again from a fresh snapshot (the server may have restarted). */
  async restart(nc: NatsConnection): Promise<void> {
    this.watcher?.stop();
    this.watcher = undefined;
    await this.start(nc);
  }

  private async watch(): Promise<void> {
    const kv = this.kv!;
    const iter = await kv.watch({ key: '>' });
    this.watcher = iter;
    void (async () => {
      try {
        for await (const e of iter) this.seen(e);
      } catch (err) {
        this.log.warn({ err: String(err) }, 'cluster: lease watch ended');
      }
    })();
  }

  private seen(e: KvWatchEntry): void {
    const now = performance.now();
    let record: (PbxRecord & NodeRecord) | undefined;
    if (e.operation === 'PUT') {
      try {
        record = e.json<PbxRecord & NodeRecord>();
      } catch {
        record = undefined;
      }
    }
    if (e.key.startsWith('node.')) {
      const name = e.key.slice(5);
      if (name === this.node) this.act(this.nodeLease.key, this.nodeLease.observe(record, e.revision, now));
      if (record === undefined || record.node === '') this.nodes.delete(name);
      else {
        const known = this.nodes.get(name);
        if (known !== undefined && known.record.instance === record.instance) {
          this.nodes.set(name, { ...known, record, lastSeen: now });
        } else this.nodes.set(name, { record, firstSeen: now, lastSeen: now });
        this.checkMismatch(name, record);
      }
      return;
    }
    if (!e.key.startsWith('pbx.')) return;
    const server = e.key.slice(4);
    const lease = this.leaseOf(server);
    if (lease === undefined) return;
    this.act(server, lease.observe(record, e.revision, now));
    if (!lease.holding(now)) this.showRemote(server, record);
  }

  private leaseOf(server: string): Lease | undefined {
    if (!this.hub.servers.has(server)) return undefined;
    let lease = this.leases.get(server);
    if (lease === undefined) {
      lease = new Lease(this.names.pbxKey(server), this.node, this.instance, this.timing, performance.now());
      this.leases.set(server, lease);
    }
    return lease;
  }

  /** What the hub shows for a PBX another node holds. */
  private showRemote(server: string, record: PbxRecord | undefined): void {
    const slot = this.hub.servers.get(server);
    if (slot === undefined) return;
    const node = record === undefined || record.node === '' ? undefined : record.node;
    const status: UpstreamStatus = {
      name: server,
      host: slot.config.host,
      port: slot.config.port,
      ...(record?.status ?? { state: 'down', since: Date.now(), amiVersion: undefined, lastError: undefined, reconnects: 0 }),
    };
    const remote: RemoteServer = { node, status, upSince: record?.upSince };
    this.hub.setRemote(server, remote);
    if (this.remote.get(server) !== node || !this.remote.has(server)) {
      this.remote.set(server, node);
      this.hooks.holderChanged(server, node);
    }
  }

  private checkMismatch(name: string, record: NodeRecord): void {
    if (name === this.node || record.digest === undefined) return;
    const mine = this.digest;
    if (record.digest === mine) {
      this.mismatchLogged.delete(name);
      return;
    }
    if (this.mismatchLogged.get(name) === record.digest) return;
    this.mismatchLogged.set(name, record.digest);
    const ours = this.hub.config.servers.map((s) => s.name);
    this.log.error(
      { node: name, its_servers: record.servers, our_servers: ours },
      `cluster: node ${name} has other [server] sections than this node: every node of a cluster must have the same; PBXes only one of them knows are held by the nodes that know them`,
    );
  }

  /** Nodes alive now (seen within a TTL), with the PBXes they know. */
  private liveNodes(now: number): Map<string, LiveNode> {
    for (const [name, n] of this.nodes) if (now >= n.lastSeen + this.timing.ttlMs) this.nodes.delete(name);
    return this.nodes;
  }

  private tick(): void {
    if (this.kv === undefined) return;
    const now = performance.now();
    const registered = this.nodeLease.holding(now);
    this.act(this.nodeLease.key, this.nodeLease.step(now, { mayClaim: !this.stopping, preferred: this.node, handOver: false }));
    if (registered) this.registeredAt ??= now;
    else this.registeredAt = undefined;
    const live = this.liveNodes(now);
    // Claims wait a third of a TTL after registering: by then every live node has seen this one, and it them.
    const mayClaim = !this.stopping && this.registeredAt !== undefined && now - this.registeredAt >= this.timing.claimGraceMs;
    for (const server of this.hub.servers.keys()) {
      const lease = this.leaseOf(server)!;
      const eligible: string[] = [];
      for (const [name, n] of live) if (n.record.servers?.includes(server)) eligible.push(name);
      if (registered && !eligible.includes(this.node)) eligible.push(this.node);
      const preferred = preferredNode(server, eligible);
      const other = preferred === undefined ? undefined : live.get(preferred);
      // Hand over only to a node that has been around for a whole TTL: no churn when one flaps.
      const handOver = !this.stopping && preferred !== this.node && other !== undefined && now - other.firstSeen >= this.timing.ttlMs;
      const preferredFrom = other === undefined ? undefined : other.firstSeen + this.timing.claimGraceMs;
      this.act(server, lease.step(now, { mayClaim, preferred, handOver, preferredFrom }));
    }
    // Leases of servers a reload removed: given up.
    for (const [server, lease] of this.leases) {
      if (this.hub.servers.has(server)) continue;
      if (lease.holding(now)) void this.release(server, lease, undefined);
      this.leases.delete(server);
    }
    this.lookAtNextExpiry(now);
  }

  /**
   * The periodic look comes every tenth of a TTL; a dead node's PBXes are taken at the instant
   * its lease and registration run out (as this node sees them: a TTL after their last write
   * came in), not up to a tenth of a TTL later.
   */
  private lookAtNextExpiry(now: number): void {
    if (this.stopping) return;
    let next = Number.POSITIVE_INFINITY;
    for (const lease of this.leases.values()) {
      const at = lease.othersExpiry;
      if (at !== undefined && at > now && at < next) next = at;
    }
    for (const [name, n] of this.nodes) {
      const at = n.lastSeen + this.timing.ttlMs;
      if (name !== this.node && at > now && at < next) next = at;
    }
    if (next === this.expiryAt) return;
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.expiryAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      this.expiryAt = Number.POSITIVE_INFINITY;
      this.tick();
    }, next - now + 1);
    this.expiryTimer.unref();
  }

  /** Carries out a step of the node lease (key `node.…`) or of a PBX's lease. */
  private act(server: string, step: LeaseStep | undefined): void {
    if (step === undefined) return;
    const isNode = server === this.nodeLease.key;
    const lease = isNode ? this.nodeLease : this.leases.get(server);
    if (lease === undefined) return;
    switch (step.kind) {
      case 'claim':
      case 'renew':
        void this.write(server, lease, step.kind, step.revision, isNode);
        return;
      case 'drop':
        clearTimeout(this.deadlines.get(server));
        if (isNode) {
          this.log.error({ reason: step.reason }, 'cluster: this node lost its registration');
          return;
        }
        this.leasesLost++;
        this.log.warn({ server, reason: step.reason }, `cluster: lease of PBX ${server} lost: its AMI session is closed at once`);
        void this.hub.releaseServer(server, `node ${this.node} lost its lease: ${step.reason}`, false);
        return;
      case 'handover':
        this.log.info({ server, to: step.to }, `cluster: handing PBX ${server} over to node ${step.to}`);
        void this.release(server, lease, step.to);
        return;
    }
  }

  private record(server: string | undefined): Uint8Array {
    let value: PbxRecord | NodeRecord;
    if (server === undefined) {
      value = { node: this.node, instance: this.instance, servers: [...this.hub.servers.keys()], digest: this.digest };
    } else {
      const slot = this.hub.servers.get(server);
      const s = slot?.remote === undefined ? slot?.session.status : undefined;
      value = {
        node: this.node,
        instance: this.instance,
        ...(s === undefined ? {} : { status: { state: s.state, since: s.since, amiVersion: s.amiVersion, lastError: s.lastError, reconnects: s.reconnects } }),
        ...(slot?.upSince === undefined ? {} : { upSince: slot.upSince }),
      };
    }
    return encoder.encode(JSON.stringify(value));
  }

  private async write(server: string, lease: Lease, kind: 'claim' | 'renew', revision: number, isNode: boolean): Promise<void> {
    const kv = this.kv;
    if (kv === undefined) return;
    const prior = lease.holder;
    const key = isNode ? this.nodeLease.key : this.names.pbxKey(server);
    const sent = performance.now();
    const attempt = lease.write;
    try {
      const value = this.record(isNode ? undefined : server);
      const rev = await this.bounded(revision === 0 ? kv.create(key, value) : kv.update(key, value, revision));
      lease.written(rev, sent, attempt);
      if (!lease.holding(performance.now()) || attempt !== lease.write) return; // given up meanwhile
    } catch (err) {
      const conflict = String((err as Error).message).includes('wrong last sequence');
      let current: { record: HolderRecord | undefined; revision: number } | undefined;
      if (conflict) {
        const e = await this.bounded(kv.get(key)).catch(() => undefined);
        // Gone (run out): the next claim creates it anew.
        if (e === null) current = { record: undefined, revision: 0 };
        else if (e !== undefined) current = { record: e.operation === 'PUT' ? safeJson(e.string()) : undefined, revision: e.operation === 'PUT' ? e.revision : 0 };
      } else {
        this.log.warn({ key, err: String(err) }, `cluster: lease ${kind === 'renew' ? 'renewal' : 'claim'} failed; trying again`);
      }
      this.act(server, lease.writeFailed(performance.now(), conflict, current, attempt));
      return;
    }
    if (isNode || kind !== 'claim') {
      if (!isNode) this.armDeadline(server, lease);
      return;
    }
    // A claim went through: this node holds the PBX now.
    this.takeovers++;
    this.armDeadline(server, lease);
    const before = prior === undefined || prior.node === '' ? undefined : (prior as PbxRecord);
    this.log.info({ server, from: before?.node }, `cluster: this node holds PBX ${server} now`);
    if (before !== undefined && !(before.node === this.node && before.instance === this.instance) && before.status?.state === 'up') {
      // The old holder vanished without a word: its clients are told here, before the new session's ProxyServerUp.
      this.hooks.publish(server, proxyServerDown(server, `node ${before.node} stopped renewing its lease`));
    }
    this.remote.set(server, this.node);
    this.hooks.holderChanged(server, this.node);
    this.hub.holdServer(server);
  }

  /** A lease request, given up after its timeout whatever the client library does: a request that never settles must not stall a lease. */
  private bounded<T>(request: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('TimeoutError: no answer from NATS in time')), this.requestTimeoutMs + 100);
    });
    return Promise.race([request, limit]).finally(() => clearTimeout(timer));
  }

  /** A timer at the lease's deadline: the session is closed then even if no tick comes in time. */
  private armDeadline(server: string, lease: Lease): void {
    clearTimeout(this.deadlines.get(server));
    const wait = lease.deadline - performance.now();
    const timer = setTimeout(() => {
      const now = performance.now();
      this.act(server, lease.step(now, { mayClaim: false, preferred: undefined, handOver: false }));
    }, Math.max(0, wait) + 1);
    timer.unref();
    this.deadlines.set(server, timer);
  }

  /** Stops the session cleanly, then writes the release (naming the node it is meant for). */
  private async release(server: string, lease: Lease, to: string | undefined): Promise<void> {
    clearTimeout(this.deadlines.get(server));
    await this.hub.releaseServer(server, to === undefined ? `node ${this.node} is leaving the cluster` : `handed over to node ${to}`, true);
    const value = encoder.encode(JSON.stringify({ node: '', instance: this.instance, ...(to === undefined ? {} : { to }) }));
    let revision = 0;
    try {
      if (this.kv !== undefined && lease.holding(performance.now())) revision = await this.kv.update(lease.key, value, lease.heldRevision);
    } catch (err) {
      this.log.warn({ server, err: String(err) }, 'cluster: could not write the release of a lease: it runs out instead');
    }
    lease.released(to, revision, performance.now());
  }

  /** The session of a PBX this node holds changed state: other nodes learn it at the next renewal, now. */
  sessionState(server: string): void {
    const lease = this.leases.get(server);
    if (lease === undefined || !lease.holding(performance.now())) return;
    lease.markDirty();
    this.act(server, lease.step(performance.now(), { mayClaim: false, preferred: undefined, handOver: false }));
  }

  /** Whether this node holds the PBX's lease now. */
  holds(server: string): boolean {
    return this.leases.get(server)?.holding(performance.now()) ?? false;
  }

  /** Stops claiming (graceful stop): held leases stay until release(). */
  quiesce(): void {
    this.stopping = true;
  }

  /** Graceful stop, after the hub stopped its sessions: every lease released for the node that should take it, then the registration. */
  async close(): Promise<void> {
    this.stopping = true;
    clearInterval(this.tickTimer);
    clearTimeout(this.expiryTimer);
    const now = performance.now();
    const others = [...this.liveNodes(now).keys()].filter((n) => n !== this.node);
    await Promise.all(
      [...this.leases].filter(([, l]) => l.holding(now)).map(([server, l]) => this.release(server, l, preferredNode(server, others.filter((n) => this.nodes.get(n)?.record.servers?.includes(server))))),
    );
    if (this.kv !== undefined && this.nodeLease.holding(now)) {
      await this.kv.update(this.nodeLease.key, encoder.encode(JSON.stringify({ node: '', instance: this.instance })), this.nodeLease.heldRevision).catch(() => undefined);
    }
    for (const t of this.deadlines.values()) clearTimeout(t);
    this.watcher?.stop();
  }

  nodeViews(): ClusterNodeView[] {
    const now = performance.now();
    const mine = this.digest;
    const views: ClusterNodeView[] = [];
    for (const [name, n] of this.liveNodes(now)) {
      views.push({ name, self: name === this.node, servers: n.record.servers ?? [], mismatch: n.record.digest !== undefined && n.record.digest !== mine });
    }
    return views.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  holders(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const slot of this.hub.servers.values()) out[slot.name] = this.hub.holderOf(slot) ?? '';
    return out;
  }
}

function safeJson(text: string): HolderRecord | undefined {
  try {
    return JSON.parse(text) as HolderRecord;
  } catch {
    return undefined;
  }
}

function proxyServerDown(server: string, reason: string): AmiMessage {
  return { headers: [['Event', 'ProxyServerDown'], ['Privilege', 'system,all'], ['Server', server], ['Reason', toWire(reason)]] };
}
