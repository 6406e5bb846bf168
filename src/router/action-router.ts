/**
 * The ActionID router for one upstream session: pure, socket-free, clock passed in.
 *
 * Every action a client sends upstream gets an ActionID of amiplex's own; whatever comes back
 * carrying that ID is routed to the client that sent the action, with the client's ActionID
 * restored byte for byte (or removed, when it sent none). An entry lives until its last answer:
 * the response, or the `…Complete` event of an EventList; then it lingers a little so late
 * events that carry its ID (a UserEvent, an OriginateResponse) still find their sender.
 *
 * Events that carry an ActionID and that Asterisk broadcasts to every session (OriginateResponse,
 * UserEvent) go to the sender with its ActionID restored — even with `Events: off` — and to every
 * other client without any ActionID, so they can never be taken for answers to their own actions.
 *
 * A synchronous Originate would block the shared session for the whole call set-up. The router
 * sends it upstream with `Async: true` and answers the client from the OriginateResponse with
 * what the synchronous Originate would have said.
 */
import {
  actionIdOf,
  getHeader,
  messageKind,
  sameText,
  withHeader,
  type AmiHeader,
  type AmiMessage,
} from '../ami/message.js';
import { isAmiTrue } from '../ami/event-classes.js';
import { proxyMessage } from '../ami/origin.js';

/** Events Asterisk broadcasts to every session although they carry the sender's ActionID. */
const BROADCAST_WITH_ACTION_ID = new Set(['originateresponse', 'userevent']);

/**
 * Why amiplex itself, not the PBX, answered an action with an error: what an HTTP client sees
 * as the status code (400, 403, 502, 503, 504). A PBX's own `Response: Error` has none.
 */
export type Failure = 'bad-request' | 'forbidden' | 'unavailable' | 'overloaded' | 'timeout';

export interface Reply<C> {
  readonly client: C;
  readonly message: AmiMessage;
  /** The last part of the action's answer (its response, its list's Complete event, or an error). */
  readonly final: boolean;
  /**
   * Not part of the answer: an event that carries the action's ActionID and comes whenever it
   * comes (an OriginateResponse, a UserEvent). The client gets it at once, outside answer order.
   */
  readonly event: boolean;
  /** Set when amiplex answered instead of the PBX (timeout, PBX gone). */
  readonly failure?: Failure;
}

export interface RouteResult<C> {
  /** Private answers: each only to its client, whatever that client's event mask. */
  readonly replies: readonly Reply<C>[];
  /** An event for every client whose mask admits it; it carries no ActionID. */
  readonly broadcast?: AmiMessage;
  /** The client the broadcast already reached as a reply, to be skipped. */
  readonly except?: C;
  /** Why nothing was delivered, for the debug log. */
  readonly dropped?: string;
}

export interface RouterOptions {
  /** Prefix of this router's ActionIDs; must be unique to this proxy instance. */
  readonly idPrefix: string;
  /** The server's name, used in error messages. */
  readonly server: string;
  /** How long a finished action keeps routing late events that carry its ID. */
  readonly lingerMs?: number;
  /** After an Originate is queued: how long to wait for its OriginateResponse on top of its own Timeout. */
  readonly originateGraceMs?: number;
  /** Told how long (ms, by the clock passed in) each action took from register() to its final answer from the PBX. */
  readonly answered?: (ms: number) => void;
}

export interface Registered {
  /** The action to send upstream, with amiplex's ActionID in place of the client's. */
  readonly message: AmiMessage;
  readonly proxyId: string;
}

type Stage =
  /** waiting for the response */
  | 'response'
  /** the response started an EventList: items until `EventList: Complete` */
  | 'list'
  /** an emulated synchronous Originate was queued: waiting for its OriginateResponse */
  | 'originate';

interface Pending<C> {
  readonly proxyId: string;
  readonly client: C;
  readonly clientActionId: string | undefined;
  readonly action: string;
  readonly timeoutMs: number;
  readonly syncOriginate: boolean;
  /** An Originate's own Timeout (ms; Asterisk's default when absent); 0 for other actions. */
  readonly originateTimeoutMs: number;
  stage: Stage;
  deadline: number;
  /** When it was registered (sent). */
  readonly sentAt: number;
  /** When its EventList, if it starts one, must be complete whatever its items do. */
  readonly listEnd: number;
}

interface Lingering<C> {
  readonly client: C;
  readonly clientActionId: string | undefined;
  readonly until: number;
  /** Timed out or failed: anything still arriving for it is dropped. */
  readonly dead: boolean;
}

const DEFAULT_LINGER_MS = 5_000;
const DEFAULT_ORIGINATE_GRACE_MS = 30_000;
/** Asterisk's default Originate timeout, in ms. */
const ORIGINATE_DEFAULT_TIMEOUT_MS = 30_000;
const DEAD_LINGER_MS = 60_000;

export class ActionRouter<C> {
  private readonly pending = new Map<string, Pending<C>>();
  private readonly linger = new Map<string, Lingering<C>>();
  private seq = 0;
  /** Actions answered by amiplex with a timeout error, so far. */
  timedOut = 0;
  /** Actions answered with an error because the PBX session went away, so far. */
  failedByLoss = 0;
  private readonly lingerMs: number;
  private readonly originateGraceMs: number;

  constructor(private readonly options: RouterOptions) {
    this.lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
    this.originateGraceMs = options.originateGraceMs ?? DEFAULT_ORIGINATE_GRACE_MS;
  }

  /** Actions waiting for (the rest of) their answer. */
  get size(): number {
    return this.pending.size;
  }

  /** Actions registered (sent upstream) so far. */
  get registered(): number {
    return this.seq;
  }

  /** Whether an ActionID was made by this router. */
  isOwnId(id: string): boolean {
    return id.startsWith(this.options.idPrefix);
  }

  /**
   * Takes an action from a client: gives it amiplex's ActionID and, for a synchronous
   * Originate, `Async: true`. The caller sends the returned message upstream. `timeoutMs`
   * bounds the wait for its response and for each item of its list; `listTimeoutMs` the
   * whole list from now, however steadily its items come.
   */
  register(client: C, action: AmiMessage, timeoutMs: number, now: number, listTimeoutMs = Infinity): Registered {
    const proxyId = `${this.options.idPrefix}${++this.seq}`;
    const clientActionId = actionIdOf(action);
    const name = getHeader(action, 'Action') ?? '';
    let message = withHeader(action, 'ActionID', proxyId);
    const originate = sameText(name, 'Originate');
    const syncOriginate = originate && !isAmiTrue(getHeader(action, 'Async'));
    if (syncOriginate) message = withHeader(message, 'Async', 'true');
    let originateTimeoutMs = 0;
    if (originate) {
      const t = Number.parseInt(getHeader(action, 'Timeout') ?? '', 10);
      originateTimeoutMs = Number.isFinite(t) && t > 0 ? t : ORIGINATE_DEFAULT_TIMEOUT_MS;
    }
    const entry: Pending<C> = {
      proxyId,
      client,
      clientActionId,
      action: name,
      timeoutMs,
      syncOriginate,
      originateTimeoutMs,
      stage: 'response',
      deadline: now + timeoutMs + (syncOriginate ? originateTimeoutMs : 0),
      sentAt: now,
      listEnd: now + listTimeoutMs,
    };
    this.pending.set(proxyId, entry);
    return { message, proxyId };
  }

  /** Routes one message from the upstream session. */
  route(msg: AmiMessage, now: number): RouteResult<C> {
    const kind = messageKind(msg);
    const id = getHeader(msg, 'ActionID');
    if (id === undefined) {
      return kind === 'event' ? { replies: [], broadcast: msg } : { replies: [], dropped: 'response without ActionID' };
    }
    const entry = this.pending.get(id);
    if (entry) return kind === 'event' ? this.eventFor(entry, msg, now) : this.responseFor(entry, msg, now);

    const late = this.linger.get(id);
    if (late) {
      if (late.dead) return { replies: [], dropped: 'answer to an action that already failed or timed out' };
      if (kind !== 'event') return { replies: [], dropped: 'second response to one action' };
      const name = (getHeader(msg, 'Event') ?? '').toLowerCase();
      if (name === 'originateresponse') this.linger.delete(id);
      return this.deliver(late.client, late.clientActionId, msg, BROADCAST_WITH_ACTION_ID.has(name));
    }
    if (this.isOwnId(id)) return { replies: [], dropped: 'answer to an action already forgotten' };
    // Another AMI session's ActionID (e.g. its OriginateResponse): an event for everyone, minus the ID.
    return kind === 'event'
      ? { replies: [], broadcast: withHeader(msg, 'ActionID', undefined) }
      : { replies: [], dropped: 'response to an ActionID amiplex never sent' };
  }

  /**
   * Errors for every action past its deadline. An EventList's deadline restarts with each item,
   * so a long list that keeps flowing is cut off only once it has taken listTimeoutMs in all.
   */
  expire(now: number): Reply<C>[] {
    const replies: Reply<C>[] = [];
    for (const entry of this.pending.values()) {
      if (entry.deadline > now) continue;
      this.finish(entry, now, true);
      this.timedOut++;
      const listCut = entry.stage === 'list' && entry.listEnd <= now;
      const waitedMs = listCut ? entry.listEnd - entry.sentAt : entry.timeoutMs + (entry.syncOriginate ? entry.originateTimeoutMs : 0);
      const seconds = Math.round(waitedMs / 100) / 10;
      const what = entry.action || 'the action';
      const text = listCut
        ? `Timeout: server ${this.options.server} did not complete the list of ${what} within ${seconds} s`
        : `Timeout: server ${this.options.server} did not answer ${what} within ${seconds} s`;
      replies.push({
        client: entry.client,
        message: errorResponse(entry.clientActionId, text),
        final: true,
        event: false,
        failure: 'timeout',
      });
    }
    for (const [id, late] of this.linger) if (late.until <= now) this.linger.delete(id);
    return replies;
  }

  /** The upstream session is gone: an error for every action still waiting; forget everything. */
  failAll(reason: string): Reply<C>[] {
    const replies: Reply<C>[] = [];
    for (const entry of this.pending.values()) {
      replies.push({ client: entry.client, message: errorResponse(entry.clientActionId, reason), final: true, event: false, failure: 'unavailable' });
    }
    this.failedByLoss += this.pending.size;
    this.pending.clear();
    this.linger.clear();
    return replies;
  }

  private responseFor(entry: Pending<C>, msg: AmiMessage, now: number): RouteResult<C> {
    if (entry.stage !== 'response') return { replies: [], dropped: 'second response to one action' };
    const failed = sameText(getHeader(msg, 'Response'), 'Error');
    if (entry.syncOriginate && !failed) {
      entry.stage = 'originate'; // answered when the OriginateResponse comes
      return { replies: [] };
    }
    const list = !failed && sameText(getHeader(msg, 'EventList'), 'start');
    if (list) {
      entry.stage = 'list';
      entry.deadline = Math.min(now + entry.timeoutMs, entry.listEnd);
    } else {
      // A queued async Originate still has its OriginateResponse to come: wait for it as long as the call may ring.
      const queued = !failed && entry.originateTimeoutMs > 0;
      this.finish(entry, now, false, queued ? entry.originateTimeoutMs + this.originateGraceMs : this.lingerMs);
    }
    return this.reply(entry.client, entry.clientActionId, msg, !list);
  }

  private eventFor(entry: Pending<C>, msg: AmiMessage, now: number): RouteResult<C> {
    const name = (getHeader(msg, 'Event') ?? '').toLowerCase();
    if (BROADCAST_WITH_ACTION_ID.has(name)) {
      if (entry.syncOriginate && name === 'originateresponse') {
        // What the synchronous Originate would have answered; a real one raises no OriginateResponse.
        this.finish(entry, now, false);
        const ok = sameText(getHeader(msg, 'Response'), 'Success');
        // A copy: it stands for the PBX's own answer, not one of amiplex's (see ami/origin.ts).
        const answer = { ...(ok
          ? response('Success', entry.clientActionId, ['Message', 'Originate successfully queued'])
          : response('Error', entry.clientActionId, ['Message', 'Originate failed'])) };
        return { replies: [{ client: entry.client, message: answer, final: true, event: false }] };
      }
      return this.deliver(entry.client, entry.clientActionId, msg, true);
    }
    const complete = sameText(getHeader(msg, 'EventList'), 'Complete');
    if (complete) this.finish(entry, now, false);
    else if (entry.stage === 'list') entry.deadline = Math.min(now + entry.timeoutMs, entry.listEnd);
    return this.reply(entry.client, entry.clientActionId, msg, complete);
  }

  /** An event carrying the ActionID, outside the answer: to its sender, and to all others when Asterisk broadcasts it. */
  private deliver(client: C, clientActionId: string | undefined, msg: AmiMessage, broadcast: boolean): RouteResult<C> {
    const reply: Reply<C> = { client, message: withHeader(msg, 'ActionID', clientActionId), final: false, event: true };
    if (!broadcast) return { replies: [reply] };
    return { replies: [reply], broadcast: withHeader(msg, 'ActionID', undefined), except: client };
  }

  private reply(client: C, clientActionId: string | undefined, msg: AmiMessage, final: boolean): RouteResult<C> {
    return { replies: [{ client, message: withHeader(msg, 'ActionID', clientActionId), final, event: false }] };
  }

  private finish(entry: Pending<C>, now: number, dead: boolean, lingerMs = this.lingerMs): void {
    this.pending.delete(entry.proxyId);
    if (!dead) this.options.answered?.(now - entry.sentAt);
    this.linger.set(entry.proxyId, {
      client: entry.client,
      clientActionId: entry.clientActionId,
      until: now + (dead ? DEAD_LINGER_MS : lingerMs),
      dead,
    });
  }
}

/** A response as Asterisk writes one: `Response:` first, then the ActionID when there is one. */
export function response(status: string, actionId: string | undefined, ...rest: AmiHeader[]): AmiMessage {
  const headers: AmiHeader[] = [['Response', status]];
  if (actionId !== undefined && actionId !== '') headers.push(['ActionID', actionId]);
  headers.push(...rest);
  return proxyMessage({ headers });
}

/** An event as Asterisk writes one for an action (list items, `…Complete`): `Event:` first, then the ActionID when there is one. */
export function eventMessage(name: string, actionId: string | undefined, ...rest: AmiHeader[]): AmiMessage {
  const headers: AmiHeader[] = [['Event', name]];
  if (actionId !== undefined && actionId !== '') headers.push(['ActionID', actionId]);
  headers.push(...rest);
  return proxyMessage({ headers });
}

/** `Response: Error` with the ActionID and a message. */
export function errorResponse(actionId: string | undefined, message: string): AmiMessage {
  return response('Error', actionId, ['Message', message]);
}
