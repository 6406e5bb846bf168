/**
 * The hub joins the PBX sessions and the clients: it forwards each client's actions to the
 * right PBX through that PBX's ActionID router, delivers the answers, and fans events out to
 * every client whose filters admit them — encoding each event once per format.
 */
import { randomBytes } from 'node:crypto';
import { Authenticator, type LoginRequest, type LoginResult } from './access/authenticator.js';
import { eventClassBits } from './ami/event-classes.js';
import { actionIdOf, getHeader, toWire, withoutHeaders, type AmiHeader, type AmiMessage } from './ami/message.js';
import type { ProxyConfig, ServerConfig, UserConfig } from './config/index.js';
import type { ActionOwner } from './clients/action-owner.js';
import type { AmiClientSession, ClientSettings, SessionHost } from './clients/ami-client-session.js';
import type { AnswerSlot } from './clients/answer-order.js';
import { Outbound } from './clients/outbound.js';
import { builtinFormats, type FormatModule, type FormatRegistry } from './formats.js';
import type { Logger } from './log.js';
import { proxyAction } from './proxy-actions.js';
import { ActionRouter, errorResponse, type Failure, type Reply } from './router/action-router.js';
import { UpstreamSession, type UpstreamState, type UpstreamStatus } from './upstream/upstream-session.js';

/** One PBX: its session and the router of its actions. */
export interface ServerSlot {
  /** Its proxy.conf section name (ASCII, so also its name on the wire). */
  readonly name: string;
  readonly config: ServerConfig;
  readonly session: UpstreamSession;
  readonly router: ActionRouter<Ticket>;
  /** When its current session came up (ms since the epoch). */
  upSince: number | undefined;
  eventsIn: number;
}

export interface HubCounters {
  eventsIn: number;
  eventsDelivered: number;
  /** Events meant for a client that was closing (or whose output was discarded). */
  eventsDropped: number;
  actionsForwarded: number;
  failedLogins: number;
  slowClientsDropped: number;
  clientsConnected: number;
}

/** Whom an action forwarded to a PBX belongs to: its owner, and its place in that owner's answer order. */
export interface Ticket {
  readonly client: ActionOwner;
  readonly slot: AnswerSlot;
}

/**
 * What listeners and embedders may observe: a hook per broadcast event (the demo's live tail,
 * the HTTP listener's event streams). `out` is the event as the fan-out shares it: its encodings
 * (once per format) are shared with every raw TCP client.
 */
export type EventObserver = (server: string, event: AmiMessage, out: Outbound) => void;

/** A hook per action a PBX answered: its server, and the ms from sending it to its final answer (/metrics). */
export type LatencyObserver = (server: string, ms: number) => void;

const SWEEP_MS = 250;
const DEFAULT_AMI_VERSION = '11.0.0';

export class Hub implements SessionHost {
  readonly servers = new Map<string, ServerSlot>();
  readonly clients = new Set<AmiClientSession>();
  readonly counters: HubCounters = {
    eventsIn: 0,
    eventsDelivered: 0,
    eventsDropped: 0,
    actionsForwarded: 0,
    failedLogins: 0,
    slowClientsDropped: 0,
    clientsConnected: 0,
  };
  readonly startedAt = Date.now();
  private readonly observers = new Set<EventObserver>();
  private readonly latencyObservers = new Set<LatencyObserver>();
  readonly auth: Authenticator;
  private readonly clientSettings: ClientSettings;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Output queued by all clients at the last count, and what lagging clients queued since. */
  private lastTotal = 0;
  private queuedSinceCheck = 0;

  constructor(
    readonly config: ProxyConfig,
    readonly log: Logger,
    readonly formats: FormatRegistry = builtinFormats(),
  ) {
    const g = config.general;
    this.clientSettings = {
      authTimeoutMs: g.authTimeout * 1000,
      authFailDelayMs: g.authFailDelay * 1000,
      clientBuffer: g.clientBuffer,
      clientBufferMax: g.clientBufferMax,
      slowClientTimeoutMs: g.slowClientTimeout * 1000,
      maxPendingActions: g.maxPendingActions,
    };
    this.auth = new Authenticator(config);
    // ActionIDs unique to this process, so answers to another proxy or client are never taken for ours.
    const instance = randomBytes(3).toString('hex');
    for (const server of config.servers) {
      const slot: ServerSlot = {
        name: server.name,
        config: server,
        upSince: undefined,
        eventsIn: 0,
        router: new ActionRouter({
          idPrefix: `amiplex-${instance}-`,
          server: server.name,
          answered: (ms) => {
            for (const observe of this.latencyObservers) observe(server.name, ms);
          },
        }),
        session: new UpstreamSession(
          server,
          {
            message: (msg) => this.fromUpstream(slot, msg),
            state: (status, previous) => this.upstreamState(slot, status, previous),
            protocolError: (text, headers) => this.upstreamProtocolError(slot, text, headers),
          },
          log,
          { idPrefix: `amiplex-${instance}-own-` },
        ),
      };
      this.servers.set(server.name, slot);
    }
  }

  start(): void {
    for (const slot of this.servers.values()) slot.session.start();
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** Logs off every PBX and closes every client (at once, for those that have not closed within a grace period). */
  async stop(graceMs = 1000): Promise<void> {
    clearInterval(this.sweepTimer);
    // PBX sessions first: every action still waiting is answered (with an error) before clients close.
    await Promise.all([...this.servers.values()].map((slot) => slot.session.stop()));
    for (const client of this.clients) client.end();
    const deadline = Date.now() + graceMs;
    while (this.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const client of this.clients) client.destroy('amiplex is shutting down');
  }

  observe(observer: EventObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  observeLatency(observer: LatencyObserver): () => void {
    this.latencyObservers.add(observer);
    return () => this.latencyObservers.delete(observer);
  }

  addClient(client: AmiClientSession): void {
    this.clients.add(client);
    this.counters.clientsConnected++;
  }

  // ---- SessionHost -------------------------------------------------------------------------

  settings(): ClientSettings {
    return this.clientSettings;
  }

  bannerVersion(): string {
    const configured = this.config.general.bannerVersion;
    if (configured !== undefined) return configured;
    const first = this.servers.values().next().value as ServerSlot | undefined;
    return first?.session.status.amiVersion ?? DEFAULT_AMI_VERSION;
  }

  /** The format a proxy.conf or ProxySetFormat name stands for. */
  format(name: string): FormatModule | undefined {
    return this.formats.get(name);
  }

  findUser(username: string): UserConfig | undefined {
    return this.auth.findUser(username);
  }

  authenticate(req: LoginRequest): Promise<LoginResult> {
    return this.auth.login(req);
  }

  uptime(): number {
    return Math.floor((Date.now() - this.startedAt) / 1000);
  }

  loginFailed(client: { readonly id?: number; readonly remote: string }, username: string | undefined, reason: string, lockedOut: boolean): void {
    this.counters.failedLogins++;
    this.log.warn({ client: client.id, remote: client.remote, user: username, reason }, 'login failed');
    if (lockedOut) this.log.warn({ remote: client.remote }, 'address locked out after repeated failed logins');
  }

  slowClientDropped(client: AmiClientSession, reason: string): void {
    this.counters.slowClientsDropped++;
    this.log.warn(
      { client: client.id, remote: client.remote, user: client.user?.name, buffered: client.buffered, reason },
      'slow client disconnected',
    );
  }

  clientClosed(client: AmiClientSession): void {
    this.clients.delete(client);
  }

  /** A client's action: answered by amiplex (Proxy*) or forwarded to one PBX. */
  handleAction(client: ActionOwner, action: AmiMessage, slot: AnswerSlot): void {
    if (proxyAction(this, client, action, slot)) return;
    const actionId = actionIdOf(action);
    const refuse = (failure: Failure, why: string) => {
      this.log.info({ client: client.id, user: client.user?.name, action: getHeader(action, 'Action'), reason: why }, 'action refused');
      client.answer(slot, errorResponse(actionId, why), true, failure);
    };
    const named = getHeader(action, 'Server')?.trim();
    const name = named === undefined || named === '' ? client.defaultServer : named;
    const server = name === undefined ? undefined : this.servers.get(name);
    if (!server) return refuse('bad-request', `Unknown server: ${name ?? '(none)'}`);
    if (!client.mayUseServer(server.name)) return refuse('forbidden', `Permission denied for server ${server.name}`);
    if (server.session.state !== 'up') return refuse('unavailable', `Server ${server.name} is not connected (${server.session.state})`);
    if (server.router.size >= server.config.maxPending) return refuse('overloaded', `Too many actions in flight on server ${server.name}`);
    client.assignServer(slot, server.name);
    const timeoutMs = (server.config.actionTimeout ?? this.config.general.actionTimeout) * 1000;
    const { message } = server.router.register({ client, slot }, withoutHeaders(action, 'Server'), timeoutMs, Date.now());
    server.session.send(message);
    this.counters.actionsForwarded++;
  }

  // ---- from the PBXes ----------------------------------------------------------------------

  private fromUpstream(slot: ServerSlot, msg: AmiMessage): void {
    const result = slot.router.route(msg, Date.now());
    this.deliver(result.replies);
    if (result.broadcast) {
      slot.eventsIn++;
      this.counters.eventsIn++;
      this.broadcast(slot.name, result.broadcast, result.except?.client);
    } else if (result.dropped) {
      this.log.debug({ server: slot.name, reason: result.dropped, kind: getHeader(msg, 'Response') ?? getHeader(msg, 'Event') }, 'upstream message not delivered');
    }
  }

  /** An event to every logged-in client whose event mask and servers admit it. */
  broadcast(server: string | undefined, event: AmiMessage, except?: ActionOwner): void {
    const out = new Outbound(event, server, eventClassBits(event));
    let delivered = 0;
    for (const client of this.clients) {
      if (client === except || !client.authenticated || (client.eventMask & out.classBits) === 0) continue;
      if (server !== undefined && !client.mayUseServer(server)) continue;
      if (client.isClosed) {
        client.stats.eventsDropped++;
        this.counters.eventsDropped++;
        continue;
      }
      client.sendEvent(out);
      delivered++;
    }
    this.counters.eventsDelivered += delivered;
    for (const observe of this.observers) observe(server ?? '', event, out);
  }

  private deliver(replies: readonly Reply<Ticket>[]): void {
    for (const { client: ticket, message, final, event, failure } of replies) {
      if (ticket.client.isClosed) continue;
      if (event) ticket.client.send(message);
      else ticket.client.answer(ticket.slot, message, final, failure);
    }
  }

  private upstreamState(slot: ServerSlot, status: UpstreamStatus, previous: UpstreamState): void {
    if (status.state === 'up') {
      slot.upSince = status.since;
      this.broadcast(slot.name, proxyEvent('ProxyServerUp', slot, [['AMIVersion', status.amiVersion ?? '']]));
      return;
    }
    if (previous !== 'up') return;
    slot.upSince = undefined;
    const reason = status.state === 'stopped' ? 'amiplex is shutting down' : (status.lastError ?? 'connection lost');
    this.deliver(slot.router.failAll(`Server ${slot.name} disconnected: ${toWire(reason)}`));
    this.broadcast(slot.name, proxyEvent('ProxyServerDown', slot, [['Reason', toWire(reason)]]));
  }

  private upstreamProtocolError(slot: ServerSlot, text: string, headers: readonly AmiHeader[]): void {
    // A reply that broke a limit still answers its action: tell that client rather than leave it waiting.
    const id = actionIdOf({ headers });
    if (id === undefined || !slot.router.isOwnId(id)) return;
    const result = slot.router.route({ headers: [['Response', 'Error'], ['ActionID', id], ['Message', `Server ${slot.name} sent a reply amiplex could not read: ${text}`]] }, Date.now());
    this.deliver(result.replies);
  }

  private sweep(now: number): void {
    for (const slot of this.servers.values()) this.deliver(slot.router.expire(now));
    let total = 0;
    for (const client of this.clients) if (!client.checkSlow(now)) total += client.buffered;
    this.checkBudget(total);
  }

  /**
   * Between sweeps, what lagging clients queue is added up as it is written, so a burst cannot
   * overshoot client_buffer_total by much: once the estimate passes it, the real total is taken.
   */
  outputQueued(bytes: number): void {
    this.queuedSinceCheck += bytes;
    if (this.lastTotal + this.queuedSinceCheck <= this.config.general.clientBufferTotal) return;
    let total = 0;
    for (const client of this.clients) total += client.buffered;
    this.checkBudget(total);
  }

  private checkBudget(total: number): void {
    this.lastTotal = total > this.config.general.clientBufferTotal ? this.shedLargest(total) : total;
    this.queuedSinceCheck = 0;
  }

  /** Over client_buffer_total: disconnect the clients with the most output queued until under it; returns what remains. */
  private shedLargest(total: number): number {
    const budget = this.config.general.clientBufferTotal;
    const byQueue = [...this.clients].sort((a, b) => b.buffered - a.buffered);
    for (const client of byQueue) {
      if (total <= budget) break;
      total -= client.buffered;
      client.dropSlow(`output of all clients over client_buffer_total (${budget} bytes); this one had the most queued`);
    }
    return total;
  }
}

function proxyEvent(name: string, slot: ServerSlot, extra: AmiHeader[]): AmiMessage {
  return { headers: [['Event', name], ['Privilege', 'system,all'], ['Server', slot.name], ...extra] };
}
