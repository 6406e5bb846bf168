/**
 * The cluster (a [cluster] section): several amiplex nodes share their PBXes through NATS.
 * Loaded only when the section is there, so a node on its own never loads a NATS module.
 *
 *   ownership.ts        who holds which PBX: leases in a JetStream key-value bucket
 *   event-bus.ts        the holder publishes its PBXes' events to a stream; every node reads it
 *   action-forwarder.ts actions for a PBX held elsewhere go to its holder and back
 *   lease.ts, rendezvous.ts  the pure decisions behind ownership
 *
 * See docs/cluster.md.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ProxyConfig } from '../config/index.js';
import type { Hub } from '../hub.js';
import type { Logger } from '../log.js';
import { ActionForwarder, RemoteOwner } from './action-forwarder.js';
import type { ClusterStatus } from './cluster-status.js';
import { EventBus } from './event-bus.js';
import { clusterNames } from './names.js';
import { defaultNodeName, NatsLink, natsOptions } from './nats-connection.js';
import { Ownership } from './ownership.js';

export interface Cluster {
  readonly node: string;
  status(): ClusterStatus;
  /** Resolves once NATS was reached and the node set up (for tests and the benchmark). */
  readonly ready: Promise<void>;
  /** Graceful stop, first step: no more claims (held leases stay while the hub stops its sessions). */
  quiesce(): void;
  /** Graceful stop, last step: leases released for the nodes that should take them, NATS closed. */
  close(): Promise<void>;
}

/** Attaches the hub to the cluster (before hub.start()) and connects to NATS in the background. */
export function startCluster(hub: Hub, config: ProxyConfig, log: Logger): Cluster {
  const cc = config.cluster!;
  const node = cc.node ?? defaultNodeName(hostname());
  const instance = randomBytes(6).toString('hex');
  const names = clusterNames(cc.name);
  const clog = log.child({ node });
  const bus = new EventBus(hub, names, node, clog);
  const forwarder = new ActionForwarder(hub, names, node, instance, clog);
  const ownership = new Ownership(hub, names, node, instance, cc.leaseTtl, clog, {
    holderChanged: (server, holder) => forwarder.holderChanged(server, holder),
    publish: (server, event) => bus.publish(server, event, undefined),
  });
  hub.attachCluster({
    node,
    publish(server, event, except, shownHere) {
      bus.publish(server, event, except === undefined ? undefined : except instanceof RemoteOwner ? { node: except.node, id: except.id } : { node, id: except.id }, shownHere);
    },
    get connected() {
      return link.state === 'connected';
    },
    forward: (slot, ticket, action, timeoutMs) => forwarder.forward(slot, ticket, action, timeoutMs),
    sessionState: (slot) => ownership.sessionState(slot.name),
    status: () => status(),
    history: bus,
  });

  let setUp: Promise<void> | undefined;
  const setUpOn = (nc: NatsConnection, again: boolean): Promise<void> => {
    const run = async () => {
      await bus.ensureStream(nc);
      if (again) await ownership.restart(nc);
      else {
        await bus.start(nc);
        await ownership.start(nc);
      }
      forwarder.start(nc);
      bus.reconnected((server) => ownership.holds(server));
    };
    setUp = run().catch((err: unknown) => {
      clog.error({ err: String(err) }, 'cluster: setting up the stream and the lease bucket failed; retrying');
      return new Promise<void>((r) => setTimeout(r, 1000)).then(() => (nc.isClosed() ? undefined : setUpOn(nc, again)));
    });
    return setUp;
  };
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (markReady = r));
  const link = new NatsLink(natsOptions(cc, config.file, node), clog, {
    up: (_server, again) => {
      if (!again) return;
      void setUpOn(link.connection!, true);
    },
    down: () => {
      bus.disconnected();
      forwarder.disconnected();
    },
  });
  void link.open().then(async (nc) => {
    if (nc === undefined) return;
    await setUpOn(nc, false);
    clog.info({ cluster: cc.name, lease_ttl: cc.leaseTtl }, 'cluster: joined');
    markReady();
  });

  function status(): ClusterStatus {
    return {
      cluster: cc.name,
      node,
      nats: link.state,
      natsServer: link.server,
      natsSince: link.since,
      leaseTtl: cc.leaseTtl,
      nodes: ownership.nodeViews(),
      holders: ownership.holders(),
      takeovers: ownership.takeovers,
      leasesLost: ownership.leasesLost,
    };
  }

  return {
    node,
    status,
    ready,
    quiesce: () => ownership.quiesce(),
    async close() {
      await setUp?.catch(() => undefined);
      await ownership.close();
      forwarder.stop();
      bus.stop();
      await link.close();
    },
  };
}
