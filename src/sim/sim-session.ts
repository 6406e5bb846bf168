/**
 * One AMI client session of the simulated PBX: reads actions with the project's decoder (as
 * Asterisk reads them, with its limits), answers them in order through the action handlers,
 * and receives the events its permissions and event mask admit.
 *
 * Like Asterisk's session thread, a session does one thing at a time. An action that takes
 * time (synchronous Originate, WaitEvent, a failed login's delay, a spaced-out EventList)
 * `block()`s the session: actions pipelined behind it wait, and events for it are held and
 * written after the action's own output. Nothing a client sends can throw out of here.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { AmiDecoder } from '../ami/decoder.js';
import type { AmiHeader, AmiMessage } from '../ami/message.js';
import { ALL_PERMS } from './permissions.js';

export type SessionInput =
  | { readonly kind: 'message'; readonly msg: AmiMessage }
  | { readonly kind: 'blank' }
  | { readonly kind: 'error'; readonly text: string; readonly headers: readonly AmiHeader[] };

/** What a session needs from its PBX. */
export interface SessionHost {
  readonly authTimeoutMs: number;
  /** Handles one input; the session is idle (not blocked) when this is called. */
  handle(session: SimSession, input: SessionInput): void;
  /** Writes out events queued so far, so a response never overtakes an earlier event. */
  flushEvents(): void;
  /** The session's socket closed. */
  closed(session: SimSession): void;
  /** A bug in a handler: reported, the session goes on. */
  onError(err: unknown): void;
}

export interface EventFilters {
  readonly include: RegExp[];
  readonly exclude: RegExp[];
}

export class SimSession {
  authenticated = false;
  username = '';
  readPerm = 0;
  writePerm = 0;
  /** The session's event mask (`Events:`), every class until told otherwise. */
  eventMask = ALL_PERMS;
  /** The MD5 challenge handed out by `Action: Challenge`, once per session. */
  challenge = '';
  filters: EventFilters | null = null;
  readonly startedMs = Date.now();
  /** A made-up session pointer, as SuccessfulAuth's `SessionID:` shows one. */
  readonly sessionId = '0x7f' + randomBytes(5).toString('hex');

  private readonly decoder: AmiDecoder;
  private readonly inbox: SessionInput[] = [];
  private blocked = false;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private ending = false;
  private destroyed = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private authTimer: NodeJS.Timeout | null = null;
  private waiter: { wake: () => void; woken: boolean } | null = null;

  constructor(
    readonly socket: Socket,
    private readonly host: SessionHost,
  ) {
    this.decoder = new AmiDecoder(
      { side: 'from-client' },
      {
        message: (msg) => this.inbox.push({ kind: 'message', msg }),
        blank: () => this.inbox.push({ kind: 'blank' }),
        error: (_code, text, headers) => this.inbox.push({ kind: 'error', text, headers }),
      },
    );
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onClose());
    if (host.authTimeoutMs > 0) {
      this.authTimer = setTimeout(() => {
        if (!this.authenticated) this.destroy(); // silently, as Asterisk does
      }, host.authTimeoutMs);
      this.authTimer.unref();
    }
  }

  /** Whether the session can still be written to. */
  get open(): boolean {
    return !this.ending && !this.destroyed;
  }

  get isBlocked(): boolean {
    return this.blocked;
  }

  /** The classes of events this session receives (read permission AND event mask). */
  get eventClasses(): number {
    return this.authenticated && this.open ? this.readPerm & this.eventMask : 0;
  }

  /** Bytes waiting to reach the client: the socket's buffer plus events held back. */
  get backlog(): number {
    return this.socket.writableLength + this.heldBytes;
  }

  loggedIn(): void {
    this.authenticated = true;
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    this.authTimer = null;
  }

  // ---- output

  /** Writes a response (byte string), after any event queued before it. */
  send(text: string): void {
    if (!this.open) return;
    this.host.flushEvents();
    this.socket.write(Buffer.from(text, 'latin1'));
  }

  /** Writes without flushing queued events first (EventList items while blocked). */
  writeRaw(text: string): void {
    if (this.open) this.socket.write(Buffer.from(text, 'latin1'));
  }

  /** Delivers an encoded event (or several): held while blocked, written otherwise. */
  deliver(buf: Buffer): void {
    if (!this.open) return;
    if (this.blocked) {
      this.held.push(buf);
      this.heldBytes += buf.length;
      if (this.waiter !== null && !this.waiter.woken) {
        const w = this.waiter;
        w.woken = true;
        setImmediate(() => w.wake());
      }
      return;
    }
    this.socket.write(buf);
  }

  // ---- blocking actions

  /** The current action takes time: hold events and later actions until unblock(). */
  block(): void {
    this.blocked = true;
    this.socket.pause();
  }

  /** The current action is done: write the held events, then go on with queued actions. */
  unblock(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.waiter = null;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    if (!this.open) return;
    if (held.length === 1) this.socket.write(held[0]!);
    else if (held.length > 1) this.socket.write(Buffer.concat(held));
    this.socket.resume();
    setImmediate(() => this.pump());
  }

  /**
   * WaitEvent: block until an event arrives for this session, the client sends something,
   * or `timeoutMs` passes; then `done(heldEvents)` writes its answer around them.
   */
  waitForEvent(timeoutMs: number | null, done: (events: Buffer[]) => void): void {
    this.block();
    this.socket.resume(); // client input ends the wait, so keep reading
    let timer: NodeJS.Timeout | null = null;
    const w = {
      woken: false,
      wake: (): void => {
        if (this.waiter !== w) return;
        w.woken = true;
        if (timer !== null) this.clearTimer(timer);
        const events = this.held;
        this.held = [];
        this.heldBytes = 0;
        this.waiter = null;
        done(events);
      },
    };
    this.waiter = w;
    if (this.held.length > 0) {
      w.woken = true;
      setImmediate(() => w.wake());
    } else if (timeoutMs !== null) {
      timer = this.timer(timeoutMs, () => w.wake());
    }
  }

  /** A timer that dies with the session. */
  timer(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.destroyed) return;
      try {
        fn();
      } catch (err) {
        this.host.onError(err);
      }
    }, ms);
    this.timers.add(t);
    return t;
  }

  clearTimer(t: NodeJS.Timeout): void {
    clearTimeout(t);
    this.timers.delete(t);
  }

  // ---- closing

  /** Closes after what was written (Logoff, failed login). */
  end(): void {
    if (!this.open) return;
    this.ending = true;
    this.socket.end();
    // A client that never closes its side is cut off shortly after.
    const t = setTimeout(() => this.socket.destroy(), 2000);
    t.unref();
  }

  /** Drops the connection at once (PBX crash, auth timeout). */
  destroy(): void {
    this.destroyed = true;
    this.socket.destroy();
  }

  // ---- input

  private onData(chunk: Buffer): void {
    if (!this.open) return;
    try {
      this.decoder.push(chunk);
    } catch (err) {
      this.host.onError(err);
      return;
    }
    if (this.waiter !== null && this.inbox.length > 0 && !this.waiter.woken) {
      const w = this.waiter;
      w.woken = true;
      setImmediate(() => w.wake());
    }
    this.pump();
  }

  private pump(): void {
    while (!this.blocked && this.open && this.inbox.length > 0) {
      const input = this.inbox.shift()!;
      try {
        this.host.handle(this, input);
      } catch (err) {
        this.host.onError(err);
      }
    }
  }

  private onClose(): void {
    this.destroyed = true;
    this.blocked = false;
    this.held = [];
    this.heldBytes = 0;
    this.inbox.length = 0;
    this.waiter = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    this.authTimer = null;
    this.host.closed(this);
  }
}
