/**
 * One raw-AMI client connected to amiplex. To the client it must look exactly like an
 * Asterisk session: banner, Login (plain or MD5 challenge), Events, Logoff, errors in
 * Asterisk's words. Actions that change the state of a session (Login, Logoff, Events,
 * Challenge, WaitEvent, Filter) are answered here, per client, and never reach the shared
 * upstream session; everything else is handed to the host to be forwarded to a PBX.
 *
 * Input is paced (shared/input-pacer.ts): a bounded slice per turn of the event loop, paused
 * while the client has max_pending_actions unanswered, its malformed input answered at a
 * bounded rate (shared/flood-guard.ts) and the client disconnected when it keeps a flood up.
 *
 * Output is bounded (shared/output-queue.ts): writes of one turn of the event loop go out as
 * one socket write; a client whose unsent output stays over `clientBuffer` for
 * `slowClientTimeoutMs`, or ever exceeds `clientBufferMax`, is disconnected so it can slow no
 * one else down, and what it holds counts against client_buffer_total.
 */
import type net from 'node:net';
import { randomInt } from 'node:crypto';
import { ALL_CLASSES, EVENT_CLASSES, eventMaskFromValue } from '../../ami/event-classes.js';
import { actionIdOf, getHeader, sameText, withoutHeaders, type AmiMessage } from '../../ami/message.js';
import { isLoopbackHost } from '../../access/acl.js';
import { errorResponse, eventMessage, response, type Failure } from '../../router/action-router.js';
import type { UserConfig } from '../../config/index.js';
import { bannerFor, type FormatModule } from '../../formats.js';
import type { Logger } from '../../log.js';
import { nextOwnerId, type ActionOwner } from '../shared/action-owner.js';
import { remainingFailDelay, type LoginRequest, type LoginResult } from '../../access/authenticator.js';
import type { LockScope } from '../../access/login-guard.js';
import type { PolicyResult } from '../../access/action-policy.js';
import { AnswerOrder, type AnswerSlot } from '../shared/answer-order.js';
import type { Outbound } from '../shared/outbound.js';
import { writableOutput, type OutputQueue } from '../shared/output-queue.js';
import type { OutputBudget } from '../shared/output-budget.js';
import { PendingAudits } from '../../audit.js';
import { redactForLog } from '../../ami/redact.js';
import { SessionEventFilter } from '../../filters/session-event-filter.js';
import { socketRemote } from '../shared/socket-remote.js';
import { InputPacer } from '../shared/input-pacer.js';
import { FloodGuard, type FloodLimits } from '../shared/flood-guard.js';
import type { InputDecoder, StreamInputModule } from '../../inputs.js';
import { standardInput } from '../../../formats/standard-input.js';
import { proxyActionName, type AutoFilterMode } from '../../astmanproxy-actions.js';

export interface ClientSettings {
  readonly authTimeoutMs: number;
  readonly authFailDelayMs: number;
  readonly clientBuffer: number;
  readonly clientBufferMax: number;
  readonly slowClientTimeoutMs: number;
  readonly maxPendingActions: number;
  /** How fast malformed input is answered (malformed_rate, malformed_timeout). */
  readonly malformedInput: FloodLimits;
  /** One log line per action. */
  readonly audit: boolean;
  /** Headers hidden when an action is logged (lower case; Secret and Key always). */
  readonly redacted: ReadonlySet<string>;
}

/** What a client session needs from the proxy around it. */
export interface SessionHost {
  readonly log: Logger;
  settings(): ClientSettings;
  bannerVersion(): string;
  /** Checks a login (lockout, user, address ACL, secret). */
  authenticate(req: LoginRequest): Promise<LoginResult>;
  /** A proxy user by name, as configured now. */
  findUser(name: string): UserConfig | undefined;
  /** The format a proxy.conf name stands for. */
  format(name: string): FormatModule | undefined;
  /** Seconds since amiplex started, for FullyBooted. */
  uptime(): number;
  /** The user's action policy for an action amiplex answers itself (Filter); a refusal is logged there. */
  policy(client: AmiClientSession, action: AmiMessage): PolicyResult;
  /** An action for a PBX (or a Proxy* action amiplex answers itself), answered through `client.answer(slot, …)`. */
  handleAction(client: AmiClientSession, action: AmiMessage, slot: AnswerSlot): void;
  /** Counts and logs a failed login (the reason is for the log only). */
  loginFailed(client: AmiClientSession, username: string | undefined, reason: string, lockedOut: LockScope | undefined): void;
  /** Counts and logs (once) a client disconnected for not reading its output. */
  slowClientDropped(client: AmiClientSession, reason: string): void;
  /** Counts a client disconnected for keeping up a flood of malformed input (the session logs it). */
  floodingClientDropped(client: AmiClientSession): void;
  /** client_buffer_total: the budget of all clients' output together. */
  readonly outputBudget: OutputBudget;
  clientClosed(client: AmiClientSession): void;
  /** The client logged in (it stops counting against authlimit). */
  clientLoggedIn(client: AmiClientSession): void;
}

export interface ClientStats {
  eventsSent: number;
  /** Events meant for this client that were discarded because it was closing or closed. */
  eventsDropped: number;
  actions: number;
  bytesSent: number;
}

/** What a connection's listener chose for it. */
export interface ClientOptions {
  /** How it reads what the client sends (default: raw AMI). */
  readonly input?: StreamInputModule;
  /** astmanproxy's autofilter: on or unique, no events but those carrying its ActionIDs (default off). */
  readonly autoFilter?: AutoFilterMode;
  /** astmanproxy's ProxyKey: a client not logged in that sends one logs in as this user, the key as its secret. */
  readonly proxyKey?: { readonly user: string; readonly plainAllowed: boolean };
  /** Whether the connection is TLS (a ProxyKey is accepted over it from anywhere). */
  readonly secure?: boolean;
}

/** Actions a client may send before it has logged in, as in Asterisk. */
const BEFORE_LOGIN = new Set(['login', 'challenge', 'logoff']);
const DEFAULT_WAITEVENT_S = 60;


export class AmiClientSession implements ActionOwner {
  readonly id = nextOwnerId();
  readonly remote: string;
  readonly connectedAt = Date.now();
  readonly stats: ClientStats = { eventsSent: 0, eventsDropped: 0, actions: 0, bytesSent: 0 };
  user: UserConfig | undefined;
  /** Classes of events this client receives (its `Events:` choice). */
  eventMask = ALL_CLASSES;
  /** The listener it connected to (its [listener] name or listen address), set by that listener. */
  listener: string | undefined;
  /** How it reads what the client sends. */
  readonly input: StreamInputModule;
  /** Acting as its listener's anonymous_user, not logged in (a Login changes that). */
  anonymous = false;
  /** The ActionID of the last action it sent to a PBX (astmanproxy's ListSessions shows it). */
  lastActionId: string | undefined;
  /** astmanproxy's autofilter (its listener's, or ProxyAction: SetAutoFilter). */
  autoFilter: AutoFilterMode;

  private readonly decoder: InputDecoder;
  private readonly options: ClientOptions;
  /** Its input, a bounded slice per turn of the event loop. */
  private readonly pacer: InputPacer;
  /** The rate at which its malformed input is answered. */
  private readonly flood: FloodGuard;
  private readonly answers = new AnswerOrder<AmiMessage>();
  private allowedServers = new Set<string>();
  private challenge: string | undefined;
  private readonly output: OutputQueue;
  private closed = false;
  private ending = false;
  private refusing = false;
  private loggedOff = false;
  private authTimer: NodeJS.Timeout | undefined;
  private waiter: { actionId: string | undefined; slot: AnswerSlot; timer: NodeJS.Timeout } | undefined;
  /** What it sees of its user's events, its Filter actions included (set at login). */
  private eventFilter: SessionEventFilter | undefined;
  /** Actions not fully answered yet, by slot, for the audit line written with their last part. */
  private readonly audits: PendingAudits;
  /** Actions received while a login is being checked: handled, in order, once it is decided. */
  private held: AmiMessage[] | undefined;
  private readonly log: Logger;

  constructor(
    private readonly socket: net.Socket,
    private readonly host: SessionHost,
    public format: FormatModule,
    options: ClientOptions = {},
  ) {
    this.remote = socketRemote(socket);
    this.log = host.log.child({ client: this.id, remote: this.remote });
    this.audits = new PendingAudits(host.log, 'ami');
    this.input = options.input ?? standardInput;
    this.options = options;
    this.autoFilter = options.autoFilter ?? 'off';
    this.flood = new FloodGuard(host.settings().malformedInput, Date.now());
    this.decoder = this.input.decoder({
      message: (msg) => this.onAction(msg),
      blank: () => {
        this.malformed();
        this.answerNow(errorResponse(undefined, 'Missing action in request'));
      },
      error: (code, text, headers) => {
        if (!this.flood.throttled) this.log.warn({ code, input: this.input.name }, 'malformed input from client');
        this.malformed();
        this.answerNow(errorResponse(actionIdOf({ headers }), text));
      },
    });
    const session = this;
    this.output = writableOutput(socket, {
      get isClosed() {
        return session.isClosed;
      },
      drop: (reason) => this.dropSlow(reason),
      limits: () => host.settings(),
      budget: host.outputBudget,
      sent: (bytes) => void (this.stats.bytesSent += bytes),
    });
    this.pacer = new InputPacer(socket, {
      consume: (bytes) => this.decoder.push(bytes),
      delay: () => this.inputDelay(),
      allowance: () => this.inputAllowance(),
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (!this.refusing) this.pacer.push(chunk);
    });
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'client socket error'));
    socket.on('close', () => this.onClose());
    this.write(bannerFor(format, host.bannerVersion()));
    this.authTimer = setTimeout(() => {
      this.log.info('unauthenticated client closed after authtimeout');
      socket.destroy();
    }, host.settings().authTimeoutMs);
  }

  /** The client's IP address as its socket reports it. */
  get address(): string | undefined {
    return this.socket.remoteAddress;
  }

  get authenticated(): boolean {
    return this.user !== undefined;
  }

  get isClosed(): boolean {
    return this.closed || this.socket.destroyed;
  }

  /** The user's default PBX: the first of its servers. */
  get defaultServer(): string | undefined {
    return this.user?.servers[0];
  }

  /** Bytes accepted for this client and not yet handed to the kernel. */
  get buffered(): number {
    return this.output.buffered;
  }

  /** When its unsent output went over client_buffer; undefined while under. */
  get overSince(): number | undefined {
    return this.output.overSince;
  }

  /** A reload changed this client's user: its servers, permissions and filters apply from now on. */
  updateUser(user: UserConfig): void {
    if (!this.user) return;
    this.user = user;
    this.allowedServers = new Set(user.servers);
    this.eventFilter?.updateUser(user);
  }

  /** Whether a broadcast event passes this client's event mask, its user's filters and its session's Filter actions. */
  wants(event: Outbound): boolean {
    const bits = event.classBits;
    return this.eventFilter !== undefined && this.autoFilter === 'off' && (this.eventMask & bits) === bits && this.eventFilter.events(event);
  }

  /** Asterisk's Filter action, for this session only: adds to a copy of the user's eventfilter lines. */
  private addFilter(msg: AmiMessage): AmiMessage {
    const result = this.eventFilter!.add(msg);
    if (result.reason !== undefined) this.log.info({ reason: result.reason }, 'Filter action refused');
    return result.response;
  }

  mayUseServer(name: string): boolean {
    return this.allowedServers.has(name);
  }

  /**
   * Part of the answer to the action that took `slot` (`final` for its last part). Written, whatever
   * the client's event mask, once every earlier action of this client is fully answered.
   */
  answer(slot: AnswerSlot, msg: AmiMessage, final: boolean, _failure?: Failure): void {
    this.audits.answer(slot.seq, msg, final, { user: this.user?.name, remote: this.remote, gone: this.isClosed });
    const { ready, close } = this.answers.push(slot, msg, final);
    for (const m of ready) this.send(m);
    if (close) this.end();
    else if (final) this.pacer.kick();
  }

  /** The action that took `slot` goes to PBX `server`: its answer is ordered among that PBX's answers. */
  assignServer(slot: AnswerSlot, server: string): void {
    this.answers.setLane(slot, server);
    this.audits.server(slot.seq, server);
  }

  /** ProxyAction: SetAutoFilter: on or unique, the client receives no events but those carrying its ActionIDs. */
  setAutoFilter(mode: AutoFilterMode): void {
    this.autoFilter = mode;
  }

  /** ProxySetFormat: everything written from now on (its own response included) is in `format`. */
  setFormat(format: FormatModule): void {
    this.format = format;
  }

  /** Written now, outside answer order: an event carrying this client's ActionID (OriginateResponse, UserEvent). */
  send(msg: AmiMessage): void {
    this.write(this.format.encode(msg));
  }

  private answerNow(msg: AmiMessage): void {
    this.answer(this.answers.open(), msg, true);
  }

  /** A broadcast event that passed this client's filters. */
  sendEvent(event: Outbound): void {
    if (this.ending || this.isClosed) {
      this.stats.eventsDropped++;
      return;
    }
    this.stats.eventsSent++;
    // Shared with every client of its format (a standalone copy once it is going to wait: see Outbound).
    this.output.push(event.withServerLine(this.format, this.user?.serverHeader ?? true, this.output.lagging));
    if (this.waiter) this.finishWaitEvent();
  }

  /**
   * Called periodically. Disconnects the client when its unsent output has stayed over
   * client_buffer for longer than slow_client_timeout; returns whether it did.
   */
  checkSlow(now: number): boolean {
    return this.output.checkSlow(now);
  }

  /** Disconnects a client that does not read its output fast enough (counted and logged once). */
  dropSlow(reason: string): void {
    if (this.isClosed) return;
    this.host.slowClientDropped(this, reason);
    this.socket.destroy();
  }

  /** Closes after what is queued has been written. */
  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.output.flush(true);
    this.socket.end();
  }

  /** Closes at once. */
  destroy(reason: string, quiet = false): void {
    if (this.isClosed) return;
    if (!quiet) this.log.info({ reason }, 'client disconnected by amiplex');
    this.socket.destroy();
  }

  /**
   * The listener's anonymous_user (astmanproxy's authrequired = no): the client acts as it from
   * the start, without a login. Called once the hub has counted the connection.
   */
  enterAnonymous(user: UserConfig): void {
    if (this.isClosed) return;
    this.anonymous = true;
    this.enter(user);
    this.log.info({ user: user.name, listener: this.listener }, 'client acts as the anonymous user of its listener');
  }

  /** The client acts as `user` from now on: its filters, servers and format. */
  private enter(user: UserConfig): void {
    const first = this.user === undefined;
    this.user = user;
    if (this.eventFilter === undefined) this.eventFilter = new SessionEventFilter(user);
    else this.eventFilter.updateUser(user);
    if (first) this.host.clientLoggedIn(this);
    this.allowedServers = new Set(user.servers);
    // The user's format applies from its login response on.
    if (user.format !== undefined) this.format = this.host.format(user.format) ?? this.format;
    clearTimeout(this.authTimer);
  }

  /**
   * astmanproxy's ProxyKey: logs in as the listener's proxy_key_user with the key as secret (a
   * failure is a failed login: delay, then close), then handles the rest of the message as
   * sent (answering the login alone when nothing else is in it). Refused over plain TCP from
   * another machine unless proxy_key_plain = yes.
   */
  private proxyKeyLogin(msg: AmiMessage, key: string): void {
    const pk = this.options.proxyKey!;
    const actionId = actionIdOf(msg);
    if (!this.options.secure && !pk.plainAllowed && !isLoopbackHost(this.socket.remoteAddress ?? '')) {
      this.log.warn('ProxyKey refused: plain TCP from another machine (proxy_key_plain = no)');
      this.answerNow(errorResponse(actionId, 'ProxyKey is not accepted over plain TCP from this address: use TLS, or log in'));
      return;
    }
    const rest = withoutHeaders(msg, 'ProxyKey');
    this.held = [];
    this.pacer.hold();
    const startedAt = Date.now();
    const decided = (result: LoginResult) => {
      const held = this.held ?? [];
      this.held = undefined;
      if (this.isClosed) return;
      if (!result.ok) return this.refuseLogin(actionId, pk.user, this.answers.open(), result.reason, result.lockedOut, startedAt);
      this.pacer.release();
      this.anonymous = false;
      this.enter(result.user);
      this.log.info({ user: result.user.name }, 'client logged in by ProxyKey');
      if (getHeader(rest, 'Action') !== undefined || proxyActionName(rest) !== undefined) this.onAction(rest);
      else this.answerNow(response('Success', actionId, ['Message', 'Authentication accepted']));
      for (const m of held) this.onAction(m);
    };
    this.host.authenticate({ username: pk.user, secret: key, address: this.socket.remoteAddress }).then(decided, (err: unknown) =>
      decided({ ok: false, reason: `login check failed: ${String(err)}`, lockedOut: undefined }),
    );
  }

  private onAction(msg: AmiMessage): void {
    if (this.ending || this.refusing || this.loggedOff) return;
    if (this.held) {
      this.held.push(msg);
      return;
    }
    const proxyKey = this.options.proxyKey !== undefined && (!this.user || this.anonymous) ? getHeader(msg, 'ProxyKey') : undefined;
    if (proxyKey !== undefined) return this.proxyKeyLogin(msg, proxyKey);
    const action = getHeader(msg, 'Action');
    const actionId = actionIdOf(msg);
    // astmanproxy's ProxyAction: Logoff is a Logoff; the others are answered by the hub, once logged in.
    const proxyAction = action === undefined ? proxyActionName(msg) : undefined;
    const name = proxyAction === undefined ? (action ?? '').toLowerCase() : proxyAction.toLowerCase() === 'logoff' ? 'logoff' : 'proxyaction';
    const slot = this.answers.open(name === 'logoff');
    const settings = this.host.settings();
    if (settings.audit) this.audits.start(slot.seq, msg, this.user?.name ?? (name === 'login' ? getHeader(msg, 'Username') : undefined));
    if (this.log.isLevelEnabled('debug')) this.log.debug({ action: redactForLog(msg, settings.redacted) }, 'action from client');
    const reply = (answer: AmiMessage) => this.answer(slot, answer, true);
    if (name === '') {
      this.malformed();
      reply(errorResponse(actionId, 'Missing action in request'));
      return;
    }
    if (!this.user && !BEFORE_LOGIN.has(name)) {
      reply(errorResponse(actionId, 'Permission denied'));
      return;
    }
    this.stats.actions++;
    switch (name) {
      case 'login':
        this.login(msg, actionId, slot);
        return;
      case 'challenge':
        reply(this.challengeAnswer(msg, actionId));
        return;
      case 'logoff':
        this.loggedOff = true; // the connection closes once this Goodbye (and every earlier answer) is written
        reply(response('Goodbye', actionId, ['Message', 'Thanks for all the fish.']));
        return;
      case 'events':
        reply(this.setEvents(msg, actionId));
        return;
      case 'waitevent':
        this.waitEvent(msg, actionId, slot);
        return;
      case 'filter':
        // Per client, as Asterisk's is per session: the shared upstream session is never filtered.
        // Subject to the user's policy like any action (Asterisk's Filter needs the system class).
        reply(this.host.policy(this, msg).ok ? this.addFilter(msg) : errorResponse(actionId, 'Permission denied'));
        return;
      default: {
        const max = this.host.settings().maxPendingActions;
        if (this.answers.pending > max) {
          reply(errorResponse(actionId, `Too many actions in flight (max_pending_actions = ${max})`));
          return;
        }
        if (name !== 'proxyaction' && actionId !== undefined) this.lastActionId = actionId;
        this.host.handleAction(this, msg, slot);
      }
    }
  }

  private login(msg: AmiMessage, actionId: string | undefined, slot: AnswerSlot): void {
    if (this.user && !this.anonymous) {
      this.answer(slot, response('Success', actionId, ['Message', 'Already authenticated']), true);
      return;
    }
    const username = getHeader(msg, 'Username');
    const md5 = sameText(getHeader(msg, 'AuthType'), 'MD5');
    const req: LoginRequest = {
      username,
      address: this.socket.remoteAddress,
      ...(md5 ? { md5: { challenge: this.challenge, key: getHeader(msg, 'Key') } } : { secret: getHeader(msg, 'Secret') }),
    };
    // Checking may take a while (scrypt): what the client sends meanwhile waits, in order.
    this.held = [];
    this.pacer.hold();
    const startedAt = Date.now();
    this.host.authenticate(req).then(
      (result) => this.loginDecided(msg, actionId, slot, result, startedAt),
      (err: unknown) => this.loginDecided(msg, actionId, slot, { ok: false, reason: `login check failed: ${String(err)}`, lockedOut: undefined }, startedAt),
    );
  }

  private loginDecided(msg: AmiMessage, actionId: string | undefined, slot: AnswerSlot, result: LoginResult, startedAt: number): void {
    const held = this.held ?? [];
    this.held = undefined;
    if (this.isClosed) return;
    if (!result.ok) {
      this.refuseLogin(actionId, getHeader(msg, 'Username'), slot, result.reason, result.lockedOut, startedAt);
      return;
    }
    this.pacer.release();
    const user = result.user;
    this.anonymous = false;
    this.enter(user);
    const events = getHeader(msg, 'Events');
    if (events !== undefined) this.eventMask = eventMaskFromValue(events) ?? this.eventMask;
    this.log.info({ user: user.name }, 'client logged in');
    const accepted = response('Success', actionId, ['Message', 'Authentication accepted']);
    if (!(this.eventMask & EVENT_CLASSES.system)) {
      this.answer(slot, accepted, true);
    } else {
      this.answer(slot, accepted, false);
      const uptime = String(this.host.uptime());
      const booted: AmiMessage = {
        headers: [['Event', 'FullyBooted'], ['Privilege', 'system,all'], ['Uptime', uptime], ['LastReload', uptime], ['Status', 'Fully Booted']],
      };
      this.answer(slot, booted, true);
    }
    for (const m of held) this.onAction(m);
  }

  /** As Asterisk: answer after a delay (a brake on guessing; counted from the check's start), then close. */
  private refuseLogin(actionId: string | undefined, username: string | undefined, slot: AnswerSlot, reason: string, lockedOut: LockScope | undefined, startedAt: number): void {
    this.refusing = true;
    this.pacer.hold();
    this.host.loginFailed(this, username, reason, lockedOut);
    setTimeout(() => {
      this.answer(slot, errorResponse(actionId, 'Authentication failed'), true);
      this.end();
    }, remainingFailDelay(this.host.settings().authFailDelayMs, startedAt));
  }

  /**
   * How long the client's input waits before more of it is handled: while it has
   * max_pending_actions unanswered (until an answer comes), and while its malformed input is
   * answered faster than the rate allows. A client that keeps that up is disconnected.
   */
  private inputDelay(): number {
    const now = Date.now();
    if (this.flood.flooding(now)) {
      this.dropFlooding();
      return Infinity;
    }
    if (this.answers.pending >= this.host.settings().maxPendingActions) return Infinity;
    return this.flood.waitMs(now);
  }

  /**
   * How many bytes the decoder may be handed before inputDelay is asked again. Every action, and
   * every malformed input, is at least a byte: no more bytes than actions it may still have in
   * flight (so none is refused for max_pending_actions) and than malformed inputs may still be
   * answered (so a slice of blank lines cannot overshoot the rate).
   */
  private inputAllowance(): number {
    const room = this.host.settings().maxPendingActions - this.answers.pending;
    return Math.min(room, this.flood.tokens(Date.now()));
  }

  /** Notes malformed input (a blank line, a broken limit, no Action), answered at a bounded rate. */
  private malformed(): void {
    const wasThrottled = this.flood.throttled;
    this.flood.note(Date.now());
    if (this.flood.throttled && !wasThrottled) {
      const { rate } = this.flood.limits;
      this.log.warn({ malformed: this.flood.count }, `malformed input faster than ${rate} a second (malformed_rate): answered at that rate`);
    }
  }

  private dropFlooding(): void {
    if (this.isClosed) return;
    const { maxThrottledMs } = this.flood.limits;
    this.log.warn({ malformed: this.flood.count }, `client disconnected: malformed input kept up over malformed_rate for more than ${maxThrottledMs / 1000} s (malformed_timeout)`);
    this.host.floodingClientDropped(this);
    this.pacer.close();
    this.socket.destroy();
  }

  private challengeAnswer(msg: AmiMessage, actionId: string | undefined): AmiMessage {
    if (!sameText(getHeader(msg, 'AuthType'), 'MD5')) return errorResponse(actionId, 'Must specify AuthType');
    this.challenge ??= String(randomInt(100_000_000, 1_000_000_000));
    return response('Success', actionId, ['Challenge', this.challenge]);
  }

  private setEvents(msg: AmiMessage, actionId: string | undefined): AmiMessage {
    const mask = eventMaskFromValue(getHeader(msg, 'EventMask') ?? '');
    if (mask !== undefined) this.eventMask = mask;
    return response('Success', actionId, ['Events', this.eventMask ? 'On' : 'Off']);
  }

  /**
   * WaitEvent on a TCP session blocks until the next event for the session (or Timeout s).
   * Answered here per client: the shared upstream session must never block.
   */
  private waitEvent(msg: AmiMessage, actionId: string | undefined, slot: AnswerSlot): void {
    if (this.waiter) this.finishWaitEvent();
    const t = Number.parseInt(getHeader(msg, 'Timeout') ?? '', 10);
    const seconds = Number.isFinite(t) && t > 0 ? Math.min(t, 3600) : DEFAULT_WAITEVENT_S;
    this.waiter = { actionId, slot, timer: setTimeout(() => this.finishWaitEvent(), seconds * 1000) };
  }

  private finishWaitEvent(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    clearTimeout(waiter.timer);
    this.answer(waiter.slot, response('Success', waiter.actionId, ['Message', 'Waiting for Event completed.']), false);
    this.answer(waiter.slot, eventMessage('WaitEventComplete', waiter.actionId), true);
  }

  private write(buf: Buffer): void {
    if (this.ending || this.isClosed) return;
    this.output.pushOwn(buf);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.authTimer);
    this.pacer.close();
    if (this.waiter) clearTimeout(this.waiter.timer);
    this.waiter = undefined;
    this.output.discard();
    this.log.debug({ user: this.user?.name }, 'client closed');
    this.host.clientClosed(this);
  }
}
