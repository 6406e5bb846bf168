/**
 * AJAM-style HTTP login sessions: `Action=Login` creates one and its id travels in the
 * `mansession_id` cookie. A session lives `http_session_timeout` seconds after its last request
 * (never while a request or an event stream of it is open), and queues the events its user may
 * see since login — bounded, oldest dropped — for the `WaitEvent` long poll. Clock passed in.
 */
import type { AmiMessage } from '../../ami/message.js';
import { SessionEventFilter } from '../../filters/session-event-filter.js';
import type { FilterActionResult } from '../../filters/session-filters.js';
import type { EventPredicate } from '../../filters/user-event-filter.js';
import { randomBytes } from 'node:crypto';
import { ALL_CLASSES } from '../../ami/event-classes.js';
import type { UserConfig } from '../../config/index.js';
import type { Outbound } from '../shared/outbound.js';

/** Most events a session keeps for WaitEvent; older ones are dropped. */
export const SESSION_QUEUE_MAX = 1000;
/** Most login sessions of one user: a new Login past it ends that user's least recently used idle one. */
export const SESSIONS_PER_USER = 100;

export interface QueuedEvent {
  /** The PBX it came from. */
  readonly server: string | undefined;
  readonly out: Outbound;
}

export class HttpSession {
  /** Classes of events it queues (`Events=` at Login, the Events action). */
  eventMask = ALL_CLASSES;
  /** Requests and event streams of this session now open: it does not expire meanwhile. */
  active = 0;
  /** Events dropped from a full queue since the last WaitEvent. */
  dropped = 0;
  /** A WaitEvent waiting for an event. */
  waiter: (() => void) | undefined;
  /** What to do when the session ends (its event streams close). */
  readonly onEnd = new Set<() => void>();
  private queue: QueuedEvent[] = [];
  private servers: ReadonlySet<string>;
  /** What it sees of its user's events, its Filter actions included. */
  private readonly filter: SessionEventFilter;

  constructor(
    readonly id: string,
    public user: UserConfig,
    public lastUsed: number,
    private readonly maxQueued: number,
  ) {
    this.servers = new Set(user.servers);
    this.filter = new SessionEventFilter(user);
  }

  /** What the session may see: its own Filter's rules once it sent one, else its user's. */
  get events(): EventPredicate {
    return this.filter.events;
  }

  mayUseServer(name: string): boolean {
    return this.servers.has(name);
  }

  /** A reload changed its user (same name): its servers and filters apply from now on. */
  updateUser(user: UserConfig): void {
    this.user = user;
    this.servers = new Set(user.servers);
    this.filter.updateUser(user);
  }

  /** Asterisk's Filter action for this login session: adds to a copy of the user's eventfilter lines. */
  addFilter(action: AmiMessage): FilterActionResult {
    return this.filter.add(action);
  }

  get queued(): number {
    return this.queue.length;
  }

  /** An event broadcast by the hub: queued when this session may see it; wakes a waiting WaitEvent. */
  offer(event: QueuedEvent): void {
    const bits = event.out.classBits;
    if ((this.eventMask & bits) !== bits) return;
    if (event.server !== undefined && !this.servers.has(event.server)) return;
    if (!this.events(event.out)) return;
    this.queue.push(event);
    if (this.queue.length > this.maxQueued) {
      this.queue.shift();
      this.dropped++;
    }
    this.waiter?.();
  }

  /** Every queued event, oldest first; the queue is empty after. */
  take(): QueuedEvent[] {
    const events = this.queue;
    this.queue = [];
    this.dropped = 0;
    return events;
  }
}

export class HttpSessionStore {
  private readonly sessions = new Map<string, HttpSession>();

  private readonly byUser = new Map<string, Set<HttpSession>>();

  constructor(
    private readonly timeoutMs: number,
    private readonly maxQueued = SESSION_QUEUE_MAX,
    private readonly perUser = SESSIONS_PER_USER,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  values(): IterableIterator<HttpSession> {
    return this.sessions.values();
  }

  /** A new session for `user`; past SESSIONS_PER_USER, that user's least recently used idle session ends. */
  create(user: UserConfig, now: number): HttpSession {
    let mine = this.byUser.get(user.name);
    if (!mine) this.byUser.set(user.name, (mine = new Set()));
    if (mine.size >= this.perUser) {
      let oldest: HttpSession | undefined;
      for (const s of mine) if (s.active === 0 && (oldest === undefined || s.lastUsed < oldest.lastUsed)) oldest = s;
      if (oldest) this.end(oldest);
    }
    const session = new HttpSession(randomBytes(16).toString('hex'), user, now, this.maxQueued);
    this.sessions.set(session.id, session);
    mine.add(session);
    return session;
  }

  /** The live session with that id (its idle time restarts), or undefined when unknown or expired. */
  use(id: string, now: number): HttpSession | undefined {
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (this.expired(session, now)) {
      this.end(session);
      return undefined;
    }
    session.lastUsed = now;
    return session;
  }

  /** Ends a session (Logoff, expiry, shutdown): its streams close, its WaitEvent is answered. */
  end(session: HttpSession): void {
    if (!this.sessions.delete(session.id)) return;
    const mine = this.byUser.get(session.user.name);
    mine?.delete(session);
    if (mine?.size === 0) this.byUser.delete(session.user.name);
    session.waiter?.();
    for (const f of [...session.onEnd]) f();
    session.onEnd.clear();
  }

  /** Ends every session idle for longer than the timeout; returns them. */
  expire(now: number): HttpSession[] {
    const gone: HttpSession[] = [];
    for (const session of this.sessions.values()) if (this.expired(session, now)) gone.push(session);
    for (const session of gone) this.end(session);
    return gone;
  }

  private expired(session: HttpSession, now: number): boolean {
    return session.active === 0 && now - session.lastUsed > this.timeoutMs;
  }
}
