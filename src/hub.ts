/**
 * The hub joins the PBX sessions and the clients: it forwards each client's actions to the
 * right PBX through that PBX's ActionID router, delivers the answers, and fans events out to
 * every client whose filters admit them — encoding each event once per format.
 */
import { randomBytes } from 'node:crypto';
import { Authenticator, type LoginRequest, type LoginResult } from './access/authenticator.js';
import type { LockScope } from './access/login-guard.js';
import type { PolicyResult } from './access/action-policy.js';
import { accessOf, carryOverAccess } from './access/user-access.js';
import { eventClassBits } from './ami/event-classes.js';
import { answerFrom, proxyMessage } from './ami/origin.js';
import { redactionSet, redactText } from './ami/redact.js';
import { actionIdOf, getHeader, toWire, withoutHeaders, type AmiHeader, type AmiMessage } from './ami/message.js';
import { GENERAL_SCHEMA, type ProxyConfig, type ServerConfig, type UserConfig } from './config/index.js';
import type { ActionOwner } from './clients/shared/action-owner.js';
import type { AmiClientSession, ClientSettings, SessionHost } from './clients/ami/ami-client-session.js';
import type { AnswerSlot } from './clients/shared/answer-order.js';
import type { BufferedOutput } from './clients/shared/buffered-output.js';
import { Outbound } from './clients/shared/outbound.js';
import { OutputBudget } from './clients/shared/output-budget.js';
import { builtinFormats, type FormatModule, type FormatRegistry } from './formats.js';
import type { Logger } from './log.js';
import { proxyAction } from './proxy-actions.js';
import { astmanproxyAction, policyView, proxyActionName, proxyResponse } from './astmanproxy-actions.js';
import { builtinInputs, type InputRegistry } from './inputs.js';
import { ActionRouter, errorResponse, type Failure, type Reply } from './router/action-router.js';
import { UpstreamSession, type UpstreamState, type UpstreamStatus } from './upstream/upstream-session.js';
import type { ClusterStatus } from './cluster/cluster-status.js';
import type { EventHistory } from './clients/shared/event-history.js';

/** One PBX: its session and the router of its actions. */
export interface ServerSlot {
  /** Its proxy.conf section name (ASCII, so also its name on the wire). */
  readonly name: string;
  /** Replaced by a reload that leaves the server's settings as they were. */
  config: ServerConfig;
  /** Replaced in cluster mode each time this node takes the PBX's lease. */
  session: UpstreamSession;
  readonly router: ActionRouter<Ticket>;
  /** Cluster mode, while another node (or none) holds the PBX: what the cluster knows of it. */
  remote: RemoteServer | undefined;
  /** When its current session came up (ms since the epoch). */
  upSince: number | undefined;
  eventsIn: number;
}

export interface HubCounters {
  eventsIn: number;
  eventsDelivered: number;
  /** Events written to HTTP event streams (SSE), one per event and stream. */
  eventsStreamed: number;
  /** Events written to WebSockets, one per event and socket. */
  webSocketEvents: number;
  /** WebSockets opened (upgrades accepted). */
  webSocketsOpened: number;
  /** WebSockets closed (1008) for not reading their output; also counted in slowClientsDropped. */
  webSocketsSlowClosed: number;
  /** Events meant for a client that was closing (or whose output was discarded). */
  eventsDropped: number;
  actionsForwarded: number;
  failedLogins: number;
  /** Lockouts started by a failed login, by what they lock. */
  readonly lockouts: Record<LockScope, number>;
  slowClientsDropped: number;
  /** Raw AMI clients disconnected for keeping up a flood of malformed input (blank lines, lines too long). */
  floodingClientsDropped: number;
  clientsConnected: number;
  /** Connections closed at once because authlimit connections were waiting to log in. */
  refusedConnections: number;
  /** Connections closed as they were accepted because the listener's permit/deny refuse their address. */
  aclRefusedConnections: number;
}

/** A client other than a raw AMI session whose output the hub budgets (a WebSocket): it sends actions too. */
export type TrackedOutput = BufferedOutput & ActionOwner;

/** Whom an action forwarded to a PBX belongs to: its owner, and its place in that owner's answer order. */
export interface Ticket {
  readonly client: ActionOwner;
  readonly slot: AnswerSlot;
}

/**
 * What listeners and embedders may observe: a hook per broadcast event (the demo's live tail,
 * the HTTP listener's event streams). `out` is the event as the fan-out shares it: its encodings
 * (once per format) are shared with every raw TCP client. `except`: the owner the event already
 * reached as part of an answer (an OriginateResponse, with its ActionID, to its sender).
 */
export type EventObserver = (server: string, event: AmiMessage, out: Outbound, except?: ActionOwner) => void;

/** A hook per action a PBX answered: its server, and the ms from sending it to its final answer (/metrics). */
export type LatencyObserver = (server: string, ms: number) => void;

/** A PBX this node does not hold, in cluster mode (see src/cluster/). */
export interface RemoteServer {
  /** The node holding it; undefined while none does. */
  readonly node: string | undefined;
  /** Its session as the holder last reported it. */
  readonly status: UpstreamStatus;
  readonly upSince: number | undefined;
}

/**
 * The cluster's side of the hub (src/cluster/): set only with a [cluster] section. Events of the
 * PBXes this node holds go to the cluster's stream (every node, this one included, delivers them
 * from there through deliverClusterEvent); actions for PBXes held elsewhere go to their holder.
 */
export interface ClusterLink {
  readonly node: string;
  /** `shownHere`: this node's clients were given it already (NATS was unreachable): the stream's copy is for the others. */
  publish(server: string, event: AmiMessage, except: ActionOwner | undefined, shownHere?: boolean): void;
  /** Whether NATS is reachable now. */
  readonly connected: boolean;
  forward(server: ServerSlot, ticket: Ticket, action: AmiMessage, timeoutMs: number): void;
  /** The session of a PBX this node holds changed state. */
  sessionState(server: ServerSlot, status: UpstreamStatus): void;
  /** Nodes, holders and NATS, for the status page and /metrics. */
  status(): ClusterStatus;
  /** The cluster's event stream, read by sequence (resuming SSE and WebSocket clients). */
  readonly history: EventHistory;
}

/** The status of a PBX: its session's here, or the holder's in cluster mode. */
export function serverStatus(slot: ServerSlot): UpstreamStatus {
  return slot.remote?.status ?? slot.session.status;
}

const SWEEP_MS = 250;
const DEFAULT_AMI_VERSION = '11.0.0';

export class Hub implements SessionHost {
  readonly servers = new Map<string, ServerSlot>();
  readonly clients = new Set<AmiClientSession>();
  readonly counters: HubCounters = {
    eventsIn: 0,
    eventsDelivered: 0,
    eventsStreamed: 0,
    webSocketEvents: 0,
    webSocketsOpened: 0,
    webSocketsSlowClosed: 0,
    eventsDropped: 0,
    actionsForwarded: 0,
    failedLogins: 0,
    lockouts: { address: 0, user: 0 },
    slowClientsDropped: 0,
    floodingClientsDropped: 0,
    clientsConnected: 0,
    refusedConnections: 0,
    aclRefusedConnections: 0,
  };
  readonly startedAt = Date.now();
  /** Input formats, by name (ListIOHandlers names them). */
  readonly inputs: InputRegistry = builtinInputs();
  private readonly observers = new Set<EventObserver>();
  private readonly latencyObservers = new Set<LatencyObserver>();
  readonly auth: Authenticator;
  private sweepTimer: NodeJS.Timeout | undefined;
  private current: ProxyConfig;
  private clientSettings: ClientSettings;
  /** ActionIDs unique to this process, so answers to another proxy or client are never taken for ours. */
  private readonly instance = randomBytes(3).toString('hex');
  /** Set when shutting down: new actions are refused, pending ones may still be answered. */
  private draining = false;
  /** Servers a reload is logging off (removed, or settings changed): the reason their going down reports. */
  private readonly removing = new Map<ServerSlot, string>();
  private readonly reloadHooks = new Set<(config: ProxyConfig) => void>();
  /** Raw AMI connections that have not logged in yet (for authlimit). */
  private unauthenticated = 0;
  /** TLS handshakes under way on the raw AMI listeners: they count against authlimit too. */
  private handshakes = 0;
  private lastAuthLimitLog = 0;
  /** client_buffer_total: what every client (raw AMI, event streams, WebSockets) has queued, together. */
  readonly outputBudget = new OutputBudget(() => this.config.general.clientBufferTotal);
  /** Clients other than raw AMI sessions that the sweep checks for slowness (WebSockets). */
  private readonly outputs = new Set<TrackedOutput>();
  /** Set by attachCluster: the PBX sessions then run only while this node holds their lease. */
  private cluster: ClusterLink | undefined;

  constructor(
    config: ProxyConfig,
    readonly log: Logger,
    readonly formats: FormatRegistry = builtinFormats(),
  ) {
    this.current = config;
    this.clientSettings = clientSettingsOf(config);
    this.auth = new Authenticator(config);
    for (const server of config.servers) this.servers.set(server.name, this.createSlot(server));
  }

  /** The configuration in force (replaced by a reload). */
  get config(): ProxyConfig {
    return this.current;
  }

  private createSlot(server: ServerConfig): ServerSlot {
    const slot: ServerSlot = {
      name: server.name,
      config: server,
      upSince: undefined,
      eventsIn: 0,
      remote: this.cluster === undefined ? undefined : notHeld(server),
      router: new ActionRouter({
        idPrefix: `amiplex-${this.instance}-`,
        server: server.name,
        answered: (ms) => {
          for (const observe of this.latencyObservers) observe(server.name, ms);
        },
      }),
      session: undefined as unknown as UpstreamSession,
    };
    slot.session = this.createSession(slot);
    return slot;
  }

  private createSession(slot: ServerSlot): UpstreamSession {
    const cluster = this.cluster;
    return new UpstreamSession(
      slot.config,
      {
        // Cluster mode: what the PBX broadcasts goes to the cluster's stream, not straight to the clients.
        message: cluster === undefined ? (msg) => this.fromUpstream(slot, msg) : (msg) => this.fromUpstreamClustered(slot, msg, cluster),
        state: (status, previous) => this.upstreamState(slot, status, previous),
        protocolError: (text, headers) => this.upstreamProtocolError(slot, text, headers),
      },
      this.log,
      { idPrefix: `amiplex-${this.instance}-own-`, configFile: this.current.file, pace: this.outputBudget.pace },
    );
  }

  /**
   * Cluster mode (before start): PBX sessions run only while this node holds their lease
   * (holdServer / releaseServer), events come from the cluster's stream.
   */
  attachCluster(link: ClusterLink): void {
    this.cluster = link;
    for (const slot of this.servers.values()) slot.remote ??= notHeld(slot.config);
  }

  /** Cluster mode: nodes, holders and NATS; undefined without a [cluster] section. */
  clusterStatus(): ClusterStatus | undefined {
    return this.cluster?.status();
  }

  /** Cluster mode: the events' history (the cluster's stream); undefined without a [cluster] section. */
  get eventHistory(): EventHistory | undefined {
    return this.cluster?.history;
  }

  /** Cluster mode: this node's name; undefined without a [cluster] section. */
  get clusterNode(): string | undefined {
    return this.cluster?.node;
  }

  /** Cluster mode: the node holding a PBX ('' while none does); undefined without a [cluster] section. */
  holderOf(slot: ServerSlot): string | undefined {
    if (this.cluster === undefined) return undefined;
    return slot.remote === undefined ? this.cluster.node : (slot.remote.node ?? '');
  }

  /** Cluster mode: this node took the PBX's lease: a fresh session logs in. */
  holdServer(name: string): void {
    const slot = this.servers.get(name);
    if (slot === undefined || slot.remote === undefined || this.draining) return;
    slot.remote = undefined;
    slot.session = this.createSession(slot);
    slot.session.start();
  }

  /**
   * Cluster mode: this node holds the PBX no more. `logoff`: a clean Logoff (handover); else the
   * connection is closed at once (the lease may be running out). Pending actions get an error
   * naming `reason`. Resolves once the connection is closed.
   */
  async releaseServer(name: string, reason: string, logoff: boolean): Promise<void> {
    const slot = this.servers.get(name);
    if (slot === undefined || slot.remote !== undefined) return;
    this.removing.set(slot, reason);
    try {
      await slot.session.stop(logoff);
    } finally {
      this.removing.delete(slot);
      slot.remote = notHeld(slot.config);
    }
  }

  /** Cluster mode: what is known of a PBX another node holds (or none). */
  setRemote(name: string, remote: RemoteServer): void {
    const slot = this.servers.get(name);
    if (slot !== undefined && slot.remote !== undefined) slot.remote = remote;
  }

  /**
   * Cluster mode: an event from the cluster's stream, to every client whose filters admit it;
   * `seq` is its place in the stream (the event id of SSE), `except` the id of a raw client of
   * this node that already received it as a reply.
   */
  deliverClusterEvent(server: string, event: AmiMessage, seq: number, except: number | undefined): void {
    const slot = this.servers.get(server);
    if (slot !== undefined && !isProxyEvent(event)) {
      slot.eventsIn++;
      this.counters.eventsIn++;
    }
    let skip: AmiClientSession | TrackedOutput | undefined;
    if (except !== undefined) {
      for (const client of this.clients) if (client.id === except) skip = client;
      for (const output of this.outputs) if (output.id === except) skip = output;
    }
    this.fanOut(new Outbound(event, server, eventClassBits(event), seq), skip);
  }

  /**
   * Cluster mode, on the holder: an action another node forwarded for a PBX this node holds.
   * Returns why it cannot be sent (the asking node answers its client with it), or undefined.
   */
  forwarded(name: string, ticket: Ticket, action: AmiMessage, timeoutMs: number): string | undefined {
    const server = this.servers.get(name);
    if (server === undefined) return `Unknown server: ${name}`;
    if (this.draining) return 'amiplex is shutting down';
    if (server.remote !== undefined) return `Server ${name} is not held by node ${this.cluster?.node ?? ''} any more`;
    if (server.session.state !== 'up') return `Server ${server.name} is not connected (${server.session.state})`;
    if (server.router.size >= server.config.maxPending) return `Too many actions in flight on server ${server.name}`;
    const { message } = server.router.register(ticket, action, timeoutMs, Date.now(), this.config.general.eventlistTimeout * 1000);
    server.session.send(message);
    this.counters.actionsForwarded++;
    return undefined;
  }

  start(): void {
    if (this.cluster === undefined) for (const slot of this.servers.values()) slot.session.start();
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), SWEEP_MS);
    this.sweepTimer.unref();
  }

  /**
   * The first step of a graceful shutdown: new actions are refused ("amiplex is shutting down")
   * while those in flight may still be answered by their PBX, for at most `maxMs`.
   */
  async drain(maxMs: number): Promise<void> {
    this.draining = true;
    const deadline = Date.now() + maxMs;
    const pending = () => [...this.servers.values()].reduce((n, slot) => n + slot.router.size, 0);
    while (pending() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const left = pending();
    if (left > 0) this.log.warn({ pending: left }, 'shutting down with actions still unanswered: they are answered with an error');
  }

  /** Logs off every PBX (answering what is still pending with an error) and closes every client (at once, for those that have not closed within a grace period). */
  async stop(graceMs = 1000): Promise<void> {
    this.draining = true;
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

  /** A new raw AMI connection; closed at once when authlimit connections are already waiting to log in. */
  addClient(client: AmiClientSession): void {
    if (this.authLimitReached(client.remote)) {
      client.destroy('authlimit reached', true);
      return;
    }
    this.unauthenticated++;
    this.clients.add(client);
    this.counters.clientsConnected++;
  }

  /**
   * A TLS handshake begins on a raw AMI listener: it counts against authlimit as a connection
   * waiting to log in does, until endHandshake. False (counted and logged) when the limit is reached.
   */
  beginHandshake(remote: string): boolean {
    if (this.authLimitReached(remote)) return false;
    this.handshakes++;
    return true;
  }

  /** The handshake is over (its session, if any, then counts as a connection waiting to log in). */
  endHandshake(): void {
    this.handshakes--;
  }

  /** Whether authlimit connections are waiting to log in: then the refusal is counted, and logged at most once a second. */
  private authLimitReached(remote: string): boolean {
    const limit = this.config.general.authLimit;
    if (this.unauthenticated + this.handshakes < limit) return false;
    this.counters.refusedConnections++;
    const now = Date.now();
    if (now - this.lastAuthLimitLog >= 1000) {
      this.lastAuthLimitLog = now;
      this.log.warn({ remote, authlimit: limit, refused: this.counters.refusedConnections }, 'connection refused: authlimit connections are waiting to log in');
    }
    return true;
  }

  /** Output of a client that is not a raw AMI session, bounded and budgeted as theirs is, until the function returned is called. */
  trackOutput(output: TrackedOutput): () => void {
    this.outputs.add(output);
    return () => this.outputs.delete(output);
  }

  /** A client logged in: it no longer counts against authlimit. */
  clientLoggedIn(_client: AmiClientSession): void {
    this.unauthenticated--;
  }

  /** Called with the new config after each reload (the HTTP listener updates its sessions). */
  onReload(hook: (config: ProxyConfig) => void): () => void {
    this.reloadHooks.add(hook);
    return () => this.reloadHooks.delete(hook);
  }

  /**
   * Applies a new, valid configuration at once: users, permissions and filters of connected
   * clients change (a client whose user is gone is disconnected), servers added are connected,
   * removed ones logged off, changed ones reconnected; unchanged servers and clients stay up.
   * Returns what changed, for the log.
   */
  async reload(config: ProxyConfig): Promise<ReloadSummary> {
    // Stopping: servers it adds would outlive hub.stop(), and clients are being closed anyway.
    if (this.draining) throw new Error('amiplex is shutting down: configuration not reloaded');
    const summary: ReloadSummary = { serversAdded: [], serversRemoved: [], serversRestarted: [], clientsDisconnected: 0, restartNeeded: restartOnlyChanges(this.current, config) };
    const before = new Map(this.current.users.map((u) => [u.name, u]));
    for (const user of config.users) {
      const previous = before.get(user.name);
      if (previous !== undefined) carryOverAccess(previous, user);
    }
    this.current = config;
    this.clientSettings = clientSettingsOf(config);
    this.auth.configure(config);
    // Servers going away are announced first, to the clients that may use them now; then the
    // users change (a permission revoked applies at once); then the Logoffs are awaited.
    const wanted = new Map(config.servers.map((s) => [s.name, s]));
    const leaving: ServerSlot[] = [];
    for (const [name, slot] of this.servers) {
      const next = wanted.get(name);
      if (next !== undefined && JSON.stringify(next) === JSON.stringify(slot.config)) {
        slot.config = next;
        continue;
      }
      if (next === undefined) summary.serversRemoved.push(name);
      else summary.serversRestarted.push(name);
      const reason = next === undefined ? 'server removed from proxy.conf' : 'server settings changed in proxy.conf';
      this.removing.set(slot, reason);
      this.servers.delete(name);
      leaving.push(slot);
      if (slot.session.state === 'up') this.serverEvent(slot, proxyEvent('ProxyServerDown', slot, [['Reason', toWire(reason)]]));
    }
    for (const client of this.clients) {
      if (!client.user) continue;
      const user = this.auth.findUser(client.user.name);
      if (user === undefined) {
        summary.clientsDisconnected++;
        client.destroy('its user was removed from proxy.conf');
      } else if (!this.auth.addressAllowed(user, client.address)) {
        summary.clientsDisconnected++;
        client.destroy("its address is no longer allowed by its user's permit/deny");
      } else {
        client.updateUser(user);
      }
    }
    for (const hook of this.reloadHooks) hook(config);
    const stopping = leaving.map((slot) => slot.session.stop().then(() => void this.removing.delete(slot)));
    await Promise.all(stopping);
    for (const server of config.servers) {
      if (this.servers.has(server.name)) continue;
      if (!summary.serversRestarted.includes(server.name)) summary.serversAdded.push(server.name);
      const slot = this.createSlot(server);
      this.servers.set(server.name, slot);
      // Cluster mode: the session starts when this node takes the new PBX's lease.
      if (this.cluster === undefined) slot.session.start();
    }
    // Keep the order of proxy.conf (the first server is the default).
    const ordered = config.servers.map((s) => this.servers.get(s.name)!);
    this.servers.clear();
    for (const slot of ordered) this.servers.set(slot.name, slot);
    return summary;
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

  loginFailed(client: { readonly id?: number; readonly remote: string }, username: string | undefined, reason: string, lockedOut: LockScope | undefined): void {
    this.counters.failedLogins++;
    this.log.warn({ client: client.id, remote: client.remote, user: username, reason }, 'login failed');
    if (lockedOut === 'address') this.log.warn({ remote: client.remote }, 'address locked out after repeated failed logins');
    if (lockedOut === 'user') this.log.warn({ remote: client.remote, user: username }, 'user name locked out after repeated failed logins');
    if (lockedOut !== undefined) this.counters.lockouts[lockedOut]++;
  }

  slowClientDropped(client: AmiClientSession, reason: string): void {
    this.counters.slowClientsDropped++;
    this.log.warn(
      { client: client.id, remote: client.remote, user: client.user?.name, buffered: client.buffered, reason },
      'slow client disconnected',
    );
  }

  floodingClientDropped(_client: AmiClientSession): void {
    this.counters.floodingClientsDropped++;
  }

  clientClosed(client: AmiClientSession): void {
    if (this.clients.delete(client) && !client.authenticated) this.unauthenticated--;
  }

  /** A client's action: answered by amiplex (Proxy*) or forwarded to one PBX. */
  handleAction(client: ActionOwner, action: AmiMessage, slot: AnswerSlot): void {
    const actionId = actionIdOf(action);
    const refuse = (failure: Failure, why: string, reason = why) => {
      this.refused(client, action, reason);
      client.answer(slot, errorResponse(actionId, why), true, failure);
    };
    // astmanproxy's ProxyAction, subject to the user's policy as the action Proxy<Name>.
    const proxyName = proxyActionName(action);
    if (proxyName !== undefined) {
      if (!this.policy(client, policyView(proxyName, action)).ok) return client.answer(slot, proxyResponse('Error', actionId, ['Message', 'Permission denied']), true, 'forbidden');
      return astmanproxyAction(this, client, action, proxyName, slot);
    }
    // Asterisk's own words for an action a user may not send; the reason goes to the log only.
    const allowed = this.policy(client, action);
    if (!allowed.ok) return client.answer(slot, errorResponse(actionId, 'Permission denied'), true, 'forbidden');
    // Proxy* actions too are subject to the user's actions / deny_actions lists.
    if (proxyAction(this, client, allowed.action, slot)) return;
    action = allowed.action;
    if (this.draining) return refuse('unavailable', 'amiplex is shutting down');
    const named = getHeader(action, 'Server')?.trim();
    const name = named === undefined || named === '' ? client.defaultServer : named;
    const server = name === undefined ? undefined : this.servers.get(name);
    if (!server) return refuse('bad-request', `Unknown server: ${name ?? '(none)'}`);
    if (!client.mayUseServer(server.name)) return refuse('forbidden', `Permission denied for server ${server.name}`);
    const timeoutMs = (server.config.actionTimeout ?? this.config.general.actionTimeout) * 1000;
    // amiplex's own headers are not the PBX's business (a ProxyKey is a secret).
    const upstream = withoutHeaders(withoutHeaders(action, 'Server'), 'ProxyKey');
    if (server.remote !== undefined) {
      const { node, status } = server.remote;
      if (node === undefined) return refuse('unavailable', `Server ${server.name} is not connected (no node holds it)`);
      if (status.state !== 'up') return refuse('unavailable', `Server ${server.name} is not connected (${status.state} on node ${node})`);
      client.assignServer(slot, server.name);
      this.cluster!.forward(server, { client, slot }, upstream, timeoutMs);
      this.counters.actionsForwarded++;
      return;
    }
    if (server.session.state !== 'up') return refuse('unavailable', `Server ${server.name} is not connected (${server.session.state})`);
    if (server.router.size >= server.config.maxPending) return refuse('overloaded', `Too many actions in flight on server ${server.name}`);
    client.assignServer(slot, server.name);
    const { message } = server.router.register({ client, slot }, upstream, timeoutMs, Date.now(), this.config.general.eventlistTimeout * 1000);
    server.session.send(message);
    this.counters.actionsForwarded++;
  }

  /**
   * The user's action policy for one action (what it forwards, or why not). A refusal is logged
   * here, once, its reason redacted; the caller answers `Permission denied`. Every action a
   * logged-in client sends goes through it, session actions such as Filter included.
   */
  policy(client: { readonly id?: number; readonly user: UserConfig | undefined }, action: AmiMessage): PolicyResult {
    const result: PolicyResult = client.user === undefined ? { ok: false, reason: 'not logged in' } : accessOf(client.user).policy(action);
    if (!result.ok) this.refused(client, action, result.reason);
    return result;
  }

  /** The log line of a refused action: its reason may quote the action's headers, so it is redacted. */
  private refused(client: { readonly id?: number; readonly user: UserConfig | undefined }, action: AmiMessage, reason: string): void {
    const { redacted } = this.clientSettings;
    this.log.info({ client: client.id, user: client.user?.name, action: getHeader(action, 'Action'), reason: redactText(reason, action, redacted) }, 'action refused');
  }

  // ---- from the PBXes ----------------------------------------------------------------------

  private fromUpstream(slot: ServerSlot, msg: AmiMessage): void {
    const result = slot.router.route(msg, Date.now());
    this.deliver(result.replies, slot.name);
    if (result.broadcast) {
      slot.eventsIn++;
      this.counters.eventsIn++;
      this.broadcast(slot.name, result.broadcast, result.except?.client);
    } else if (result.dropped) {
      this.log.debug({ server: slot.name, reason: result.dropped, kind: getHeader(msg, 'Response') ?? getHeader(msg, 'Event') }, 'upstream message not delivered');
    }
  }

  /** Cluster mode, a PBX this node holds: answers go to their owners here or on other nodes, events to the stream. */
  private fromUpstreamClustered(slot: ServerSlot, msg: AmiMessage, cluster: ClusterLink): void {
    const result = slot.router.route(msg, Date.now());
    // Owners on other nodes are named there (their user is known there): see ActionForwarder.
    this.deliver(result.replies, slot.name);
    if (result.broadcast) cluster.publish(slot.name, result.broadcast, result.except?.client);
    else if (result.dropped) this.log.debug({ server: slot.name, reason: result.dropped }, 'upstream message not delivered');
  }

  /**
   * An event about one PBX (ProxyServerUp/Down): in cluster mode through the stream, so every
   * node tells its clients in turn; while NATS is unreachable this node's clients are told at
   * once (a PBX it held going down as its lease runs out must not go unsaid), the others later.
   */
  private serverEvent(slot: ServerSlot, event: AmiMessage): void {
    const cluster = this.cluster;
    if (cluster === undefined) return this.broadcast(slot.name, event);
    const cutOff = !cluster.connected;
    if (cutOff) this.broadcast(slot.name, event);
    cluster.publish(slot.name, event, undefined, cutOff);
  }

  /** An event to every logged-in client whose event mask and servers admit it. */
  broadcast(server: string | undefined, event: AmiMessage, except?: ActionOwner): void {
    this.fanOut(new Outbound(event, server, eventClassBits(event)), except);
  }

  private fanOut(out: Outbound, except: ActionOwner | undefined): void {
    const event = out.message;
    const server = out.server;
    let delivered = 0;
    for (const client of this.clients) {
      if (client === except || !client.wants(out)) continue;
      if (client.isClosed) {
        client.stats.eventsDropped++;
        this.counters.eventsDropped++;
        continue;
      }
      client.sendEvent(out);
      delivered++;
    }
    this.counters.eventsDelivered += delivered;
    for (const observe of this.observers) observe(server ?? '', event, out, except);
  }

  /** Answers to their owners; `server`: the PBX they came from, for users who want it named on each (server_header_answers). */
  private deliver(replies: readonly Reply<Ticket>[], server?: string): void {
    for (const { client: ticket, message: received, final, event, failure } of replies) {
      const owner = ticket.client;
      const message = server !== undefined ? answerFrom(owner, received, server) : received;
      // An answer still reaches a client that went away: nothing is written, but its audit line is.
      if (!event) owner.answer(ticket.slot, message, final, failure);
      else if (!owner.isClosed) owner.send(message, server);
    }
  }

  private upstreamState(slot: ServerSlot, status: UpstreamStatus, previous: UpstreamState): void {
    this.cluster?.sessionState(slot, status);
    if (status.state === 'up') {
      slot.upSince = status.since;
      this.serverEvent(slot, proxyEvent('ProxyServerUp', slot, [['AMIVersion', status.amiVersion ?? '']]));
      return;
    }
    if (previous !== 'up') return;
    slot.upSince = undefined;
    const removed = this.removing.get(slot);
    const reason = removed ?? (status.state === 'stopped' ? 'amiplex is shutting down' : (status.lastError ?? 'connection lost'));
    this.deliver(slot.router.failAll(`Server ${slot.name} disconnected: ${toWire(reason)}`));
    // A reload announced its removal when it began.
    if (removed === undefined || this.cluster !== undefined) this.serverEvent(slot, proxyEvent('ProxyServerDown', slot, [['Reason', toWire(reason)]]));
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
    for (const client of this.clients) client.checkSlow(now);
    for (const output of this.outputs) output.checkSlow(now);
    this.outputBudget.recount();
  }
}

/** A PBX no node is known to hold yet. */
function notHeld(server: ServerConfig): RemoteServer {
  return {
    node: undefined,
    upSince: undefined,
    status: { name: server.name, host: server.host, port: server.port, state: 'down', since: Date.now(), amiVersion: undefined, lastError: undefined, reconnects: 0 },
  };
}

/** ProxyServerUp / ProxyServerDown: amiplex's own, not counted as events from the PBX. */
function isProxyEvent(event: AmiMessage): boolean {
  const name = getHeader(event, 'Event');
  return name === 'ProxyServerUp' || name === 'ProxyServerDown';
}

function proxyEvent(name: string, slot: ServerSlot, extra: AmiHeader[]): AmiMessage {
  return proxyMessage({ headers: [['Event', name], ['Privilege', 'system,all'], ['Server', slot.name], ...extra] });
}

export interface ReloadSummary {
  serversAdded: string[];
  serversRemoved: string[];
  serversRestarted: string[];
  clientsDisconnected: number;
  /** proxy.conf keys that changed but take effect only after a restart (listeners, HTTP and TLS settings). */
  restartNeeded: string[];
}

function clientSettingsOf(config: ProxyConfig): ClientSettings {
  const g = config.general;
  return {
    authTimeoutMs: g.authTimeout * 1000,
    authFailDelayMs: g.authFailDelay * 1000,
    clientBuffer: g.clientBuffer,
    clientBufferMax: g.clientBufferMax,
    slowClientTimeoutMs: g.slowClientTimeout * 1000,
    maxPendingActions: g.maxPendingActions,
    malformedInput: { rate: g.malformedRate, burst: g.malformedRate, maxThrottledMs: g.malformedTimeout * 1000 },
    audit: g.audit,
    redacted: redactionSet(g.redactHeaders),
  };
}

/** [general] keys read once when listeners start: a reload cannot change them. */
const RESTART_ONLY: readonly (keyof ProxyConfig['general'])[] = [
  // Not permit and deny: listeners read them from the config in force at each new connection.
  'listen', 'listenTls', 'http', 'https', 'tlsCert', 'tlsKey', 'tlsClientCa',
  'httpTimeout', 'httpSessionTimeout', 'httpMaxBody', 'httpMaxUrl', 'corsOrigins', 'sseReplay', 'metricsPermit', 'logLevel',
];

function restartOnlyChanges(before: ProxyConfig, after: ProxyConfig): string[] {
  // Named as in proxy.conf, for the operator who edited it.
  const changed = RESTART_ONLY.filter((k) => JSON.stringify(before.general[k]) !== JSON.stringify(after.general[k])).map((k) => GENERAL_SCHEMA[k].key);
  // A [listener]'s permit/deny apply live too; anything else of the sections needs a restart.
  const shape = (c: ProxyConfig) => JSON.stringify(c.listeners.map(({ permit: _p, deny: _d, ...rest }) => rest));
  if (shape(before) !== shape(after)) changed.push('[listener] sections');
  if (JSON.stringify(before.cluster) !== JSON.stringify(after.cluster)) changed.push('[cluster]');
  return changed;
}
