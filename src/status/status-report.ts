/**
 * The status page's data (`GET /status.json`): amiplex, each PBX, each client, and who is
 * asking. Pure: it reads the hub's objects as they are (no copies kept, nothing changed) and the
 * rates sampled by the caller; the time is passed in.
 *
 * A user with `status = yes` sees every PBX and every client, whatever its own servers: it is an
 * operator's page. `me` says what the page's own forms may use (the user's servers, devices and
 * forced context).
 *
 * At most `maxClients` clients are listed (the totals count them all): past that, the ones with
 * the most output queued, then the most events dropped — those an operator looks for — and the
 * number left out in `clientsOmitted`.
 */
import type { UserConfig } from '../config/index.js';
import type { HubCounters } from '../hub.js';
import type { UpstreamStatus } from '../upstream/upstream-session.js';
import type { ClusterStatus } from '../cluster/cluster-status.js';

/** A PBX as the hub holds it (a ServerSlot). */
export interface ServerView {
  readonly name: string;
  readonly upSince: number | undefined;
  readonly eventsIn: number;
  readonly session: { readonly status: UpstreamStatus };
  readonly router: { readonly size: number };
  /** Cluster mode, held by another node (or none): its status as the holder reports it. */
  readonly remote?: { readonly node: string | undefined; readonly status: UpstreamStatus; readonly upSince: number | undefined } | undefined;
}

/** A raw AMI client (an AmiClientSession). */
export interface AmiClientView {
  readonly id: number;
  readonly remote: string;
  readonly connectedAt: number;
  readonly user: { readonly name: string } | undefined;
  readonly format: { readonly name: string };
  readonly stats: { readonly eventsSent: number; readonly eventsDropped: number };
  readonly buffered: number;
}

/** An HTTP event stream (an SseStream). */
export interface StreamView {
  readonly id: number;
  readonly remote: string;
  readonly openedAt: number;
  readonly user: { readonly name: string };
  readonly eventsSent: number;
  readonly buffered: number;
}

/** A WebSocket (a WebSocketSession). */
export interface WebSocketView {
  readonly id: number;
  readonly remote: string;
  readonly connectedAt: number;
  readonly user: { readonly name: string };
  /** Its envelope: `amiplex`, or `amiws` (the subprotocol). */
  readonly envelope: string;
  readonly stats: { readonly eventsSent: number };
  readonly buffered: number;
}

export interface StatusInput {
  readonly version: string;
  /** When amiplex started (ms since the epoch). */
  readonly startedAt: number;
  readonly now: number;
  /** Who asks. */
  readonly user: UserConfig;
  readonly servers: Iterable<ServerView>;
  readonly clients: Iterable<AmiClientView>;
  readonly streams: Iterable<StreamView>;
  readonly webSockets: Iterable<WebSocketView>;
  readonly counters: Readonly<HubCounters>;
  /** Login sessions of the HTTP listener (AJAM cookies). */
  readonly httpSessions: number;
  /** Events per second of a counter named by serverRateKey() or TOTAL_RATE_KEY; undefined until known. */
  rate(key: string): number | undefined;
  /** Most clients listed (default MAX_CLIENTS). */
  readonly maxClients?: number;
  /** Cluster mode: nodes, holders and NATS. */
  readonly cluster?: ClusterStatus | undefined;
}

export interface ServerReport {
  readonly name: string;
  readonly state: UpstreamStatus['state'];
  readonly amiVersion: string | null;
  readonly host: string;
  readonly port: number;
  /** `host:port` (`[v6]:port`). */
  readonly address: string;
  /** When the current state began (ISO 8601). */
  readonly stateSince: string;
  /** When the current session came up (ISO 8601); null while not up. */
  readonly upSince: string | null;
  readonly uptimeS: number | null;
  readonly eventsIn: number;
  /** Over the last few seconds; null until two samples were taken. */
  readonly eventsPerSecond: number | null;
  readonly reconnects: number;
  readonly pendingActions: number;
  readonly lastError: string | null;
  /** Cluster mode only: the node holding the PBX ('' while none does). */
  readonly node?: string;
}

export interface ClientReport {
  /** `ami`: a raw AMI connection; `sse`: an HTTP event stream (`GET /events`); `websocket`: `GET /ws`. */
  readonly kind: 'ami' | 'sse' | 'websocket';
  readonly id: number;
  /** null before login. */
  readonly user: string | null;
  readonly remote: string;
  /** Output format (`sse` for event streams, which carry json; `websocket` or `amiws` for WebSockets, by envelope). */
  readonly format: string;
  readonly eventsSent: number;
  /** Events discarded for it; null where none are ever discarded (a slow stream is disconnected instead). */
  readonly eventsDropped: number | null;
  /** Output accepted for it and not yet taken by the kernel. */
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
  /** Cluster mode only: nodes, holders and NATS. */
  readonly cluster?: ClusterStatus;
  /** Raw AMI clients by id, then event streams by id, then WebSockets by id. */
  readonly clients: readonly ClientReport[];
  /** Clients not listed (over maxClients). */
  readonly clientsOmitted: number;
}

export const TOTAL_RATE_KEY = 'total';
export const MAX_CLIENTS = 500;

export function serverRateKey(name: string): string {
  return `server ${name}`;
}

/** The counters the rate window samples: every PBX's events in, and the total. */
export function rateCounters(servers: Iterable<ServerView>, counters: Readonly<HubCounters>): Map<string, number> {
  const counts = new Map<string, number>([[TOTAL_RATE_KEY, counters.eventsIn]]);
  for (const s of servers) counts.set(serverRateKey(s.name), s.eventsIn);
  return counts;
}

export function statusReport(input: StatusInput): StatusReport {
  const { now, user } = input;
  const seconds = (since: number) => Math.max(0, Math.floor((now - since) / 1000));
  const rate = (key: string) => {
    const r = input.rate(key);
    return r === undefined ? null : Math.round(r * 10) / 10;
  };
  const servers: ServerReport[] = [];
  for (const slot of input.servers) {
    const s = slot.remote?.status ?? slot.session.status;
    const upSince = slot.remote === undefined ? slot.upSince : slot.remote.upSince;
    servers.push({
      name: slot.name,
      state: s.state,
      amiVersion: s.amiVersion ?? null,
      host: s.host,
      port: s.port,
      address: `${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}`,
      stateSince: new Date(s.since).toISOString(),
      upSince: upSince === undefined ? null : new Date(upSince).toISOString(),
      uptimeS: upSince === undefined ? null : seconds(upSince),
      eventsIn: slot.eventsIn,
      eventsPerSecond: rate(serverRateKey(slot.name)),
      reconnects: s.reconnects,
      pendingActions: slot.router.size,
      lastError: s.lastError ?? null,
      ...(input.cluster === undefined ? {} : { node: slot.remote === undefined ? input.cluster.node : (slot.remote.node ?? '') }),
    });
  }
  const clients: ClientReport[] = [];
  let amiClients = 0;
  let eventStreams = 0;
  for (const c of input.clients) {
    amiClients++;
    clients.push({
      kind: 'ami',
      id: c.id,
      user: c.user?.name ?? null,
      remote: c.remote,
      format: c.format.name,
      eventsSent: c.stats.eventsSent,
      eventsDropped: c.stats.eventsDropped,
      buffered: c.buffered,
      connectedAt: new Date(c.connectedAt).toISOString(),
      connectedS: seconds(c.connectedAt),
    });
  }
  for (const s of input.streams) {
    eventStreams++;
    clients.push({
      kind: 'sse',
      id: s.id,
      user: s.user.name,
      remote: s.remote,
      format: 'sse',
      eventsSent: s.eventsSent,
      eventsDropped: null,
      buffered: s.buffered,
      connectedAt: new Date(s.openedAt).toISOString(),
      connectedS: seconds(s.openedAt),
    });
  }
  let webSockets = 0;
  for (const w of input.webSockets) {
    webSockets++;
    clients.push({
      kind: 'websocket',
      id: w.id,
      user: w.user.name,
      remote: w.remote,
      format: w.envelope === 'amiws' ? 'amiws' : 'websocket',
      eventsSent: w.stats.eventsSent,
      eventsDropped: null,
      buffered: w.buffered,
      connectedAt: new Date(w.connectedAt).toISOString(),
      connectedS: seconds(w.connectedAt),
    });
  }
  const max = input.maxClients ?? MAX_CLIENTS;
  const omitted = Math.max(0, clients.length - max);
  const listed = omitted === 0 ? clients : mostWatched(clients, max);
  const c = input.counters;
  return {
    amiplex: { version: input.version, startedAt: new Date(input.startedAt).toISOString(), uptimeS: seconds(input.startedAt), now: new Date(now).toISOString() },
    me: { name: user.name, servers: [...user.servers], channels: [...(user.channels ?? [])], context: user.context ?? null },
    totals: {
      eventsIn: c.eventsIn,
      eventsPerSecond: rate(TOTAL_RATE_KEY),
      eventsDelivered: c.eventsDelivered,
      eventsDropped: c.eventsDropped,
      actionsForwarded: c.actionsForwarded,
      failedLogins: c.failedLogins,
      slowClientsDropped: c.slowClientsDropped,
      amiClients,
      eventStreams,
      webSockets,
      httpSessions: input.httpSessions,
    },
    servers,
    ...(input.cluster === undefined ? {} : { cluster: input.cluster }),
    clients: listed,
    clientsOmitted: omitted,
  };
}

/** The `max` clients with the most output queued, then the most events dropped; in their first order. */
function mostWatched(clients: readonly ClientReport[], max: number): ClientReport[] {
  const rank = clients.map((client, i) => ({ client, i }));
  rank.sort((a, b) => b.client.buffered - a.client.buffered || (b.client.eventsDropped ?? 0) - (a.client.eventsDropped ?? 0) || a.i - b.i);
  return rank
    .slice(0, max)
    .sort((a, b) => a.i - b.i)
    .map((r) => r.client);
}
