/**
 * What /metrics reports for one running proxy: a prom-client registry of its own (never
 * prom-client's global one: one process may run many proxies, as the tests do).
 *
 * Nearly everything is read when scraped, from what the hub counts anyway (its `counters`,
 * each PBX slot, each client's listener), so the event and action paths pay nothing for it.
 * Only two things are observed as they happen: each action's answer time (the hub's latency
 * hook, fed by the router from the clock readings it takes anyway) and the HTTP requests and
 * connections of the HTTP listeners (node:http events). Node's process metrics come from one
 * registry per process, shared by its proxies, so starting a proxy adds no GC observer or
 * event-loop monitor.
 */
import type http from 'node:http';
import type https from 'node:https';
import type net from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { formatHostPort, type HostPort } from '../config/index.js';
import { serverStatus, type Hub, type ServerSlot } from '../hub.js';

export type ListenerKind = 'ami' | 'http';

/** An open WebSocket, as /metrics counts it: by the HTTP listener it came through. */
export interface WebSocketView {
  readonly listener: string;
}

/** Prefix of every metric amiplex reports, Node's process metrics included. */
export const METRIC_PREFIX = 'amiplex_';

/** Answer-time buckets (seconds): 1 ms … 30 s, the default action_timeout. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;

interface ListenerEntry {
  readonly kind: ListenerKind;
  /** Open connections, for an HTTP listener (AMI clients are counted from the hub). */
  readonly connections?: () => number;
}

let processRegistry: Registry | undefined;

/** Node's process metrics (CPU, memory, event loop, GC …), collected once per process. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: METRIC_PREFIX });
  }
  return processRegistry;
}

export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly listeners = new Map<string, ListenerEntry>();
  /** Where the open WebSockets are found: one source per HTTP service. */
  private readonly webSocketSources: Array<() => Iterable<WebSocketView>> = [];
  /** HTTP responses by status class: index 1 … 5 for 1xx … 5xx. */
  private readonly httpStatus = [0, 0, 0, 0, 0, 0];

  constructor(hub: Hub) {
    // Node's metrics start with the proxy, not at the first scrape: the event-loop monitor must
    // have sampled by then, or the first scrape's lag figures are empty (a newcomer's first look).
    processMetrics();
    const registers = [this.registry];
    const slots = () => hub.servers.values();
    const perServer = (name: string, help: string, value: (slot: ServerSlot) => number) =>
      new Counter({
        name: `${METRIC_PREFIX}${name}`,
        help,
        labelNames: ['server'],
        registers,
        collect() {
          this.reset();
          for (const slot of slots()) this.inc({ server: slot.name }, value(slot));
        },
      });
    const total = (name: string, help: string, value: () => number) =>
      new Counter({
        name: `${METRIC_PREFIX}${name}`,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(value());
        },
      });

    new Gauge({
      name: `${METRIC_PREFIX}server_up`,
      help: 'Whether the AMI session to the PBX is up (1) or not (0).',
      labelNames: ['server'],
      registers,
      collect() {
        for (const slot of slots()) this.set({ server: slot.name }, serverStatus(slot).state === 'up' ? 1 : 0);
      },
    });
    this.clusterMetrics(hub, registers);
    perServer('server_reconnects_total', 'AMI sessions to the PBX established after the first one.', (s) => s.session.status.reconnects);
    perServer('server_events_received_total', 'Events received from the PBX for the clients (answers to actions not included).', (s) => s.eventsIn);
    perServer('server_read_holds_total', 'Times reading from the PBX waited for clients behind (most of them, or one at risk of being cut off): TCP backpressure, at most 20 ms at a time.', (s) => s.session.holds);
    perServer('server_actions_sent_total', "Clients' actions forwarded to the PBX.", (s) => s.router.registered);
    perServer('server_actions_timed_out_total', 'Actions the PBX did not answer within action_timeout (answered with an error by amiplex).', (s) => s.router.timedOut);
    perServer('server_actions_lost_total', 'Actions still waiting for their answer when the PBX session went away (answered with an error by amiplex).', (s) => s.router.failedByLoss);
    new Gauge({
      name: `${METRIC_PREFIX}server_actions_pending`,
      help: 'Actions forwarded to the PBX and still waiting for (the rest of) their answer.',
      labelNames: ['server'],
      registers,
      collect() {
        for (const slot of slots()) this.set({ server: slot.name }, slot.router.size);
      },
    });
    const latency = new Histogram({
      name: `${METRIC_PREFIX}action_duration_seconds`,
      help: 'Time from forwarding an action to the PBX to its final answer (the response, or the end of its list).',
      labelNames: ['server'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const observers = new Map<string, (seconds: number) => void>();
    for (const slot of slots()) {
      latency.zero({ server: slot.name });
      observers.set(slot.name, latency.labels({ server: slot.name }).observe);
    }
    hub.observeLatency((server, ms) => observers.get(server)?.(ms / 1000));

    const listeners = this.listeners;
    const sources = this.webSocketSources;
    new Gauge({
      name: `${METRIC_PREFIX}clients`,
      help: 'Clients connected now, per listener: raw AMI connections, open HTTP connections, and of those the WebSockets.',
      labelNames: ['listener', 'kind'],
      registers,
      collect() {
        this.reset();
        const ami = new Map<string, number>();
        for (const [label, entry] of listeners) {
          if (entry.kind === 'http') this.set({ listener: label, kind: 'http' }, entry.connections?.() ?? 0);
          else ami.set(label, 0);
        }
        for (const client of hub.clients) {
          if (client.listener !== undefined) ami.set(client.listener, (ami.get(client.listener) ?? 0) + 1);
        }
        for (const [label, n] of ami) this.set({ listener: label, kind: 'ami' }, n);
        const ws = new Map<string, number>();
        for (const [label, entry] of listeners) if (entry.kind === 'http') ws.set(label, 0);
        for (const source of sources) for (const socket of source()) ws.set(socket.listener, (ws.get(socket.listener) ?? 0) + 1);
        for (const [label, n] of ws) this.set({ listener: label, kind: 'websocket' }, n);
      },
    });
    const c = hub.counters;
    total('events_delivered_total', 'Events written to raw AMI clients (one per event and client).', () => c.eventsDelivered);
    total('events_streamed_total', 'Events written to HTTP event streams (GET /events; one per event and stream).', () => c.eventsStreamed);
    total('events_dropped_total', 'Events meant for a client that was closing, so never written.', () => c.eventsDropped);
    total('slow_clients_disconnected_total', 'Clients (raw AMI, event streams, WebSockets) disconnected for not reading their output.', () => c.slowClientsDropped);
    total('websocket_events_total', 'Events written to WebSockets (GET /ws; one per event and socket).', () => c.webSocketEvents);
    total('websockets_opened_total', 'WebSockets opened (upgrades accepted on GET /ws).', () => c.webSocketsOpened);
    total('websockets_slow_closed_total', 'WebSockets closed (1008) for not reading their output; also in slow_clients_disconnected_total.', () => c.webSocketsSlowClosed);
    total('flooding_clients_disconnected_total', 'Raw AMI clients and WebSockets disconnected for sending malformed input (blank lines, lines too long, bad frames) faster than it is answered for too long.', () => c.floodingClientsDropped);
    total('failed_logins_total', 'Failed logins, raw AMI and HTTP.', () => c.failedLogins);
    new Counter({
      name: `${METRIC_PREFIX}lockouts_total`,
      help: 'Lockouts started by repeated failed logins: of an address, or of a user name.',
      labelNames: ['scope'],
      registers,
      collect() {
        this.reset();
        this.inc({ scope: 'address' }, c.lockouts.address);
        this.inc({ scope: 'user' }, c.lockouts.user);
      },
    });
    total('clients_connected_total', 'Raw AMI connections accepted.', () => c.clientsConnected);
    total('connections_refused_total', 'Raw AMI connections closed at once because authlimit connections were waiting to log in.', () => c.refusedConnections);
    total('connections_denied_total', 'Connections (raw AMI, TLS, HTTP) closed as accepted: the listener\'s permit/deny refuse their address.', () => c.aclRefusedConnections);
    const status = this.httpStatus;
    new Counter({
      name: `${METRIC_PREFIX}http_requests_total`,
      help: 'HTTP requests answered, by status class.',
      labelNames: ['status'],
      registers,
      collect() {
        this.reset();
        for (const [i, name] of STATUS_CLASSES.entries()) this.inc({ status: name }, status[i + 2]!);
      },
    });
  }

  /** Where open WebSockets are found (an HTTP service's WebSocket service). */
  watchWebSockets(sockets: () => Iterable<WebSocketView>): void {
    this.webSocketSources.push(sockets);
  }

  /** A raw AMI listener, so it is reported (0 clients) before anyone connects. */
  addListener(kind: 'ami', label: string): void {
    this.listeners.set(label, { kind });
  }

  /** Counts the connections and requests of an HTTP listener; it is reported by `address` with its bound port. */
  watchHttpServer(server: http.Server | https.Server, address: HostPort): void {
    let open = 0;
    server.on('connection', (socket: net.Socket) => {
      open++;
      socket.once('close', () => open--);
    });
    server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.once('close', () => {
        if (res.headersSent) this.httpStatus[Math.min(5, Math.max(1, Math.floor(res.statusCode / 100)))]!++;
      });
    });
    server.once('listening', () => {
      const port = (server.address() as net.AddressInfo).port;
      this.listeners.set(formatHostPort({ host: address.host, port }), { kind: 'http', connections: () => open });
    });
  }

  /** Cluster mode only (nothing is registered without [cluster]): NATS, the nodes, who holds what. */
  private clusterMetrics(hub: Hub, registers: Registry[]): void {
    if (hub.clusterNode === undefined) return;
    new Gauge({
      name: `${METRIC_PREFIX}cluster_nats_connected`,
      help: 'Whether this node is connected to NATS (1) or not (0).',
      registers,
      collect() {
        this.set(hub.clusterStatus()?.nats === 'connected' ? 1 : 0);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}cluster_nodes`,
      help: 'Live nodes of the cluster as this node sees them, itself included once registered.',
      registers,
      collect() {
        this.set(hub.clusterStatus()?.nodes.length ?? 0);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}cluster_node_config_mismatch`,
      help: 'Per live node: 1 when its [server] sections differ from this node\'s.',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const n of hub.clusterStatus()?.nodes ?? []) this.set({ node: n.name }, n.mismatch ? 1 : 0);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}cluster_server_holder`,
      help: 'Per PBX: 1 on the node holding its AMI session (the label node), as this node sees it.',
      labelNames: ['server', 'node'],
      registers,
      collect() {
        this.reset();
        for (const [server, node] of Object.entries(hub.clusterStatus()?.holders ?? {})) if (node !== '') this.set({ server, node }, 1);
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}cluster_leases_taken_total`,
      help: 'PBX leases this node took (at start, on take-over or hand-over).',
      registers,
      collect() {
        this.reset();
        this.inc(hub.clusterStatus()?.takeovers ?? 0);
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}cluster_leases_lost_total`,
      help: 'PBX leases this node lost (not renewed in time, or taken): each closed an AMI session at once.',
      registers,
      collect() {
        this.reset();
        this.inc(hub.clusterStatus()?.leasesLost ?? 0);
      },
    });
  }

  /** The Prometheus text of this proxy's metrics and the process's. */
  text(): Promise<string> {
    return Registry.merge([this.registry, processMetrics()]).metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
