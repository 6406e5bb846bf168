/**
 * One WebSocket of `GET /ws` (docs/websocket.md), logged in at its upgrade: the actions of its
 * frames go through the hub as a raw AMI session's do (its user's action policy, `Server:`
 * routing, ActionIDs rewritten and restored by the PBX's router), their answers come back to
 * this socket only, in the order the actions came (shared/answer-order.ts); the events it may
 * see come from the HTTP listener's event feed, with the feed's ids.
 *
 * Answered here, per socket: Login (already done), Logoff (Goodbye, then close 1000), Events
 * (its event mask), Filter (its own eventfilter set), Challenge and WaitEvent (refused: not
 * needed on a socket that is logged in and gets its events).
 *
 * Output is bounded as a raw TCP client's (shared/output-queue.ts): what one turn of the event
 * loop queues goes out in one socket write, of frames ws built (ws-wire.ts; an event's frame
 * once for every socket); over `client_buffer` for
 * `slow_client_timeout`, over `client_buffer_max`, or the largest when all clients are over
 * `client_buffer_total`, the socket is closed with 1008 and the limit as its reason.
 */
import type net from 'node:net';
import type { WebSocket } from 'ws';
import { ALL_CLASSES, eventMaskFromValue } from '../../ami/event-classes.js';
import { actionIdOf, getHeader, type AmiMessage } from '../../ami/message.js';
import { redactForLog } from '../../ami/redact.js';
import { PendingAudits } from '../../audit.js';
import type { UserConfig } from '../../config/index.js';
import { SessionEventFilter } from '../../filters/session-event-filter.js';
import type { FormatModule } from '../../formats.js';
import type { Hub } from '../../hub.js';
import type { Logger } from '../../log.js';
import { errorResponse, response, type Failure } from '../../router/action-router.js';
import { errorFrame, messageFrame, parseClientFrame, type Envelope, type FrameServer } from '../../../formats/websocket.js';
import { nextOwnerId, type ActionOwner } from '../shared/action-owner.js';
import { AnswerOrder, type AnswerSlot } from '../shared/answer-order.js';
import { FloodGuard } from '../shared/flood-guard.js';
import type { BufferedOutput } from '../shared/buffered-output.js';
import { writableOutput, type OutputQueue } from '../shared/output-queue.js';
import { textFrame } from './ws-wire.js';
import type { FeedEntry, FeedReader } from '../sse/sse-feed.js';

/** Close codes (docs/websocket.md). */
export const CLOSE = Object.freeze({
  /** Logoff, or the client closed. */
  normal: 1000,
  /** amiplex is shutting down. */
  goingAway: 1001,
  /** Not reading its output; its user removed, its address no longer allowed, its login session ended. */
  policy: 1008,
  /** A frame over the size limit (ws closes the socket itself). */
  tooBig: 1009,
});

/** After a close for not reading, how long the peer has to read up to the close frame before the connection is cut. */
const DROP_GRACE_MS = 5000;
/** The most bytes a close reason may have (RFC 6455: 125 bytes of payload, 2 of them the code). */
const MAX_REASON = 123;

export interface WsFilter {
  /** Event names wanted (`event=`, lower case); empty: all. */
  readonly events: ReadonlySet<string>;
  /** Servers shown (`server=`), else every server of the user. */
  readonly servers: ReadonlySet<string>;
  readonly allServers: boolean;
}

/** What a socket needs from the WebSocket listener around it. */
export interface WsHost {
  readonly hub: Hub;
  readonly log: Logger;
  readonly json: FormatModule;
  /** A PBX as frames name it (undefined: none, or no longer configured). */
  frameServer(name: string | undefined): FrameServer | undefined;
  /** The name of the n-th server of proxy.conf (amiws's AMIServerID). */
  serverById(id: number): string | undefined;
  closed(session: WebSocketSession): void;
}

export interface WsStats {
  eventsSent: number;
  actions: number;
  bytesSent: number;
}


export class WebSocketSession implements ActionOwner, FeedReader, BufferedOutput {
  readonly id = nextOwnerId();
  readonly connectedAt = Date.now();
  readonly stats: WsStats = { eventsSent: 0, actions: 0, bytesSent: 0 };
  /** A pong came since the last ping. */
  private alive = true;
  private readonly answers = new AnswerOrder<Buffer>();
  /** The PBX each action went to, by its slot, until its last part is written. */
  private readonly lanes = new Map<number, string>();
  private readonly audits: PendingAudits;
  private readonly sessionFilter: SessionEventFilter;
  private allowedServers: Set<string>;
  private eventMask = ALL_CLASSES;
  private readonly output: OutputQueue;
  /** Bad frames are answered at malformed_rate at most, as a raw client's malformed input. */
  private readonly flood: FloodGuard;
  private resumeTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private closed = false;
  private readonly log: Logger;

  constructor(
    private readonly ws: WebSocket,
    /** The connection the upgrade came on (ws writes its frames there). */
    private readonly socket: net.Socket,
    private readonly host: WsHost,
    public user: UserConfig,
    private filter: WsFilter,
    readonly envelope: Envelope,
    /** `address:port` of the peer. */
    readonly remote: string,
    /** The HTTP listener it came through (its address), for the status page. */
    readonly listener: string,
  ) {
    this.log = host.log.child({ websocket: this.id, remote });
    this.audits = new PendingAudits(host.log, 'websocket');
    this.sessionFilter = new SessionEventFilter(user);
    const session = this;
    // Whole frames (ws-wire.ts): the turn's output in one write, as a raw TCP client's.
    this.output = writableOutput(socket, {
      get isClosed() {
        return session.isClosed;
      },
      drop: (reason) => this.dropSlow(reason),
      limits: () => host.hub.settings(),
      budget: host.hub.outputBudget,
      sent: (bytes) => void (this.stats.bytesSent += bytes),
    });
    this.flood = new FloodGuard(host.hub.settings().malformedInput, Date.now());
    this.allowedServers = new Set(user.servers);
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(data, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('error', (err) => this.log.info({ reason: err.message }, 'websocket closed for a protocol error'));
    ws.on('close', (code: number) => this.onClose(code));
  }

  /** The peer's IP address (its user's permit/deny check it). */
  get address(): string | undefined {
    return this.socket.remoteAddress;
  }

  get isClosed(): boolean {
    return this.closed || this.closing;
  }

  get defaultServer(): string | undefined {
    return this.user.servers[0];
  }

  /** Bytes accepted for this socket and not yet handed to the kernel. */
  get buffered(): number {
    return this.closing ? 0 : this.output.buffered;
  }

  mayUseServer(name: string): boolean {
    return this.allowedServers.has(name);
  }

  /** A reload changed its user (same name): servers, permissions and filters apply from now on. */
  updateUser(user: UserConfig): void {
    this.user = user;
    this.allowedServers = new Set(user.servers);
    this.sessionFilter.updateUser(user);
    const servers = this.filter.allServers ? this.allowedServers : new Set([...this.filter.servers].filter((s) => this.allowedServers.has(s)));
    this.filter = { ...this.filter, servers };
  }

  // ---- events (FeedReader) -----------------------------------------------------------------

  offer(entry: FeedEntry): boolean {
    if (this.isClosed) return false;
    if (entry.server !== undefined && !this.filter.servers.has(entry.server)) return false;
    if (this.filter.events.size > 0 && !this.filter.events.has(entry.name)) return false;
    const bits = entry.out.classBits;
    if ((this.eventMask & bits) !== bits || !this.sessionFilter.events(entry.out)) return false;
    const serverHeader = this.user.serverHeader;
    const slot = (this.envelope === 'amiws' ? 2 : 0) + (serverHeader ? 1 : 0);
    this.write(entry.cached(slot, () => textFrame(messageFrame(this.envelope, 'event', entry.out.message, entry.jsonBytes(serverHeader), this.host.frameServer(entry.server), entry.id))));
    this.stats.eventsSent++;
    this.host.hub.counters.webSocketEvents++;
    return true;
  }

  lost(notice: AmiMessage): void {
    this.write(textFrame(messageFrame(this.envelope, 'event', notice, this.host.json.encode(notice), undefined)));
  }

  // ---- answers (ActionOwner) ---------------------------------------------------------------

  answer(slot: AnswerSlot, msg: AmiMessage, final: boolean, _failure?: Failure): void {
    this.audits.answer(slot.seq, msg, final, { user: this.user.name, remote: this.remote, gone: this.closed });
    const frame = this.frame(msg, this.lanes.get(slot.seq));
    if (final) this.lanes.delete(slot.seq);
    const { ready, close } = this.answers.push(slot, frame, final);
    for (const f of ready) this.write(f);
    if (close) this.close(CLOSE.normal, 'Logoff');
  }

  assignServer(slot: AnswerSlot, server: string): void {
    this.answers.setLane(slot, server);
    this.lanes.set(slot.seq, server);
    this.audits.server(slot.seq, server);
  }

  send(msg: AmiMessage, server?: string): void {
    this.write(this.frame(msg, server));
  }

  private frame(msg: AmiMessage, server: string | undefined): Buffer {
    return textFrame(messageFrame(this.envelope, 'response', msg, this.host.json.encode(msg), this.host.frameServer(server)));
  }

  // ---- actions -----------------------------------------------------------------------------

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.isClosed) return;
    if (isBinary) return this.badFrame('Binary frames are not read: send each action as a JSON text frame');
    const parsed = parseClientFrame(data.toString('utf8'), this.envelope, (id) => this.host.serverById(id));
    if (!parsed.ok) return this.badFrame(parsed.message);
    this.onAction(parsed.action);
  }

  /**
   * A frame that is not an action: answered with an error frame, logged once (and once more when
   * they come faster than malformed_rate). Over that rate the socket's reading waits (bad frames
   * ws had already read meanwhile get no answer); kept up for longer than malformed_timeout, the
   * socket is closed (1008), logged and counted.
   */
  private badFrame(message: string): void {
    const now = Date.now();
    const flood = this.flood;
    if (flood.count === 0) this.log.info({ reason: message }, 'websocket frame refused');
    const wasThrottled = flood.throttled;
    flood.note(now);
    if (flood.throttled && !wasThrottled) {
      this.log.warn({ refused: flood.count }, `websocket frames refused faster than ${flood.limits.rate} a second (malformed_rate): answered at that rate`);
    }
    if (flood.flooding(now)) {
      this.host.hub.counters.floodingClientsDropped++;
      const reason = `bad frames kept up over malformed_rate for more than ${flood.limits.maxThrottledMs / 1000} s (malformed_timeout)`;
      this.log.warn({ refused: flood.count }, `websocket closed: ${reason}`);
      this.close(CLOSE.policy, reason, true);
      return;
    }
    // Waiting already: ws read these with the last chunk; they count, but get no answer.
    if (this.resumeTimer !== undefined) return;
    this.write(textFrame(errorFrame(message)));
    const wait = flood.waitMs(now);
    if (wait > 0) {
      // Frames ws has already read still arrive; nothing more is read until the wait is over.
      this.ws.pause();
      this.resumeTimer = setTimeout(() => {
        this.resumeTimer = undefined;
        if (!this.isClosed) this.ws.resume();
      }, wait);
      this.resumeTimer.unref();
    }
  }

  private onAction(msg: AmiMessage): void {
    const name = (getHeader(msg, 'Action') ?? '').toLowerCase();
    const actionId = actionIdOf(msg);
    const slot = this.answers.open(name === 'logoff');
    const hub = this.host.hub;
    const settings = hub.settings();
    if (settings.audit) this.audits.start(slot.seq, msg, this.user.name);
    if (this.log.isLevelEnabled('debug')) this.log.debug({ action: redactForLog(msg, settings.redacted) }, 'action from websocket');
    const reply = (answer: AmiMessage) => this.answer(slot, answer, true);
    this.stats.actions++;
    switch (name) {
      case '':
        return reply(errorResponse(actionId, 'Missing action in request'));
      case 'login':
        return reply(response('Success', actionId, ['Message', 'Already authenticated']));
      case 'logoff':
        return reply(response('Goodbye', actionId, ['Message', 'Thanks for all the fish.']));
      case 'challenge':
        return reply(errorResponse(actionId, 'Challenge (MD5 login) is not available over WebSocket: the socket logs in at its upgrade'));
      case 'waitevent':
        return reply(errorResponse(actionId, 'WaitEvent is not needed over WebSocket: events come on the socket'));
      case 'events': {
        const mask = eventMaskFromValue(getHeader(msg, 'EventMask') ?? '');
        if (mask !== undefined) this.eventMask = mask;
        return reply(response('Success', actionId, ['Events', this.eventMask ? 'On' : 'Off']));
      }
      case 'filter': {
        // Per socket, as Asterisk's is per session; subject to the user's policy like any action.
        if (!hub.policy(this, msg).ok) return reply(errorResponse(actionId, 'Permission denied'));
        const result = this.sessionFilter.add(msg);
        if (result.reason !== undefined) this.log.info({ reason: result.reason }, 'Filter action refused');
        return reply(result.response);
      }
      default: {
        const max = settings.maxPendingActions;
        if (this.answers.pending > max) return reply(errorResponse(actionId, `Too many actions in flight (max_pending_actions = ${max})`));
        hub.handleAction(this, msg, slot);
      }
    }
  }

  // ---- output ------------------------------------------------------------------------------

  private write(frame: Buffer): void {
    if (!this.isClosed) this.output.push(frame);
  }

  checkSlow(now: number): boolean {
    return this.output.checkSlow(now);
  }

  /** Closes a socket that does not read its output (1008, the limit as reason), counted and logged once. */
  dropSlow(reason: string): void {
    if (this.isClosed) return;
    const counters = this.host.hub.counters;
    counters.slowClientsDropped++;
    counters.webSocketsSlowClosed++;
    this.log.warn({ user: this.user.name, buffered: this.socket.writableLength, reason }, 'slow websocket closed');
    this.close(CLOSE.policy, reason, true);
  }

  /**
   * Closes with `code` after what is queued (dropped when `discard`); a peer that has not read up
   * to the close frame within a grace period has its connection cut.
   */
  close(code: number, reason: string, discard = false): void {
    if (this.isClosed) return;
    if (discard) this.output.discard();
    else this.output.flush();
    this.closing = true;
    this.ws.close(code, truncateReason(reason));
    const cut = setTimeout(() => this.ws.terminate(), DROP_GRACE_MS);
    cut.unref();
    this.ws.once('close', () => clearTimeout(cut));
  }

  /** The keep-alive: false when the previous ping went unanswered, else sends the next one. */
  ping(): boolean {
    if (this.closed) return true;
    if (!this.alive) return false;
    this.alive = false;
    this.ws.ping();
    return true;
  }

  /** Cuts the connection at once (no close frame): a peer that stopped answering pings. */
  terminate(): void {
    this.closing = true;
    this.ws.terminate();
  }

  private onClose(code: number): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.resumeTimer);
    this.output.discard();
    this.log.debug({ user: this.user.name, code, events: this.stats.eventsSent }, 'websocket closed');
    this.host.closed(this);
  }
}

/** A close reason within the 123 bytes a close frame has room for. */
function truncateReason(reason: string): string {
  let r = reason;
  while (Buffer.byteLength(r, 'utf8') > MAX_REASON) r = r.slice(0, -1);
  return r;
}
