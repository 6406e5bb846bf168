/**
 * Paces what one PBX sends, so that handing it to the clients never holds the event loop for long
 * and never runs far ahead of what the clients can take.
 *
 * - Slices. What the decoder reads from a chunk waits here and is handled in order, at most
 *   SLICE_MS of it per turn of the event loop (one message fanned out to every client is never
 *   cut); the rest waits for the next turn, and between them every client's input, every write
 *   and every timer get their turn. While messages wait, the PBX's socket is paused.
 * - Backpressure. When most writes of the last few messages went to clients behind
 *   (client-pace.ts: the PBX outruns the machine), handling stops — a hold — until every client
 *   behind has caught up, with the socket paused: TCP makes the PBX wait, its writes held in the
 *   kernel's buffers meanwhile.
 * - Rescue. When fewer did, but some went to a client at risk (behind, over client_buffer), the
 *   same hold, for at most RESCUE_SHARE of each RESCUE_WINDOW_MS: reading slows down by that
 *   share at most, never stops for one client; a client slower than that stays over and is cut
 *   off by the slow-client rules, while a client that reads as fast as the others drains.
 * - The bound. Asterisk gives up a manager session whose write stays blocked for `writetimeout`
 *   (100 ms by default). However long the clients stay behind, the socket is read again at
 *   most HOLD_MAX_MS after it was last read: a hold that would go on longer reads one more chunk
 *   instead (so reading never falls under a chunk each HOLD_MAX_MS, and a client that cannot keep
 *   up even with that falls behind for good: the slow-client rules decide). And while more than
 *   BACKLOG_MAX messages wait here, they are handled without holding: the slow-client rules
 *   decide from there.
 */
import { performance } from 'node:perf_hooks';
import type { ClientPace, PaceVerdict } from '../clients/shared/client-pace.js';
import { ReadSwitch, type Pausable } from '../net/read-switch.js';

/** Most time spent handling one PBX's messages in one turn of the event loop (ms). */
export const SLICE_MS = 5;
/** Longest the PBX's socket goes unread for a hold (ms): a fifth of Asterisk's default writetimeout. */
export const HOLD_MAX_MS = 20;
/** Messages read and not handled yet past which reading no longer waits for the clients. */
export const BACKLOG_MAX = 16_384;
/** The window over which rescue holds are bounded (ms)… */
export const RESCUE_WINDOW_MS = 1000;
/** …and the share of it they may take at most. */
export const RESCUE_SHARE = 0.25;

export class UpstreamPacer<T> {
  private queue: T[] = [];
  private head = 0;
  private readonly reading: ReadSwitch;
  private running = false;
  private closed = false;
  /** The rest waits for a later turn (see `later`). */
  private scheduled = false;
  private immediate: NodeJS.Immediate | undefined;
  private tickPending = false;
  private holdTimer: NodeJS.Timeout | undefined;
  private stopWaiting: (() => void) | undefined;
  /** When this turn's handling started (performance.now()), or -1. */
  private turnStart = -1;
  /** When the socket was last read (performance.now()). */
  private lastRead = performance.now();
  /** The socket was resumed because the PBX had waited long enough: no hold until it has been read. */
  private mustRead = false;
  /** Holds so far (for /metrics and tests). */
  holds = 0;
  /** Chunks read so far (for tests). */
  reads = 0;
  /** The current hold is a rescue (it counts against the rescue share). */
  private rescuing = false;
  /** When the current hold began (performance.now()). */
  private holdStart = 0;
  /** When the current rescue window began, and how much of it rescue holds took (ms). */
  private rescueWindow = -Infinity;
  private rescueUsed = 0;

  constructor(
    socket: Pausable,
    private readonly handle: (item: T) => void,
    private readonly pace: ClientPace | undefined,
    private readonly sliceMs = SLICE_MS,
    private readonly holdMaxMs = HOLD_MAX_MS,
  ) {
    this.reading = new ReadSwitch(socket);
  }

  /** Whether handling waits for the clients now. */
  get holding(): boolean {
    return this.holdTimer !== undefined;
  }

  /** Messages read and not handled yet. */
  get backlog(): number {
    return this.queue.length - this.head;
  }

  /** The socket gave a chunk (before it is decoded). */
  read(): void {
    this.reads++;
    this.lastRead = performance.now();
    if (!this.mustRead) return;
    // Read because the PBX had waited long enough: this chunk, not all the socket has.
    this.mustRead = false;
    this.reading.pause();
  }

  /** Something decoded from what was read: handled in order, by run(). */
  push(item: T): void {
    if (!this.closed) this.queue.push(item);
  }

  /**
   * Handles what waits, as far as this turn's slice allows; holds as soon as the writes of the
   * last few messages say so (see Backpressure and Rescue above); reads on once all is handled.
   */
  run(): void {
    if (this.running || this.closed || this.scheduled || this.holding) return;
    const queue = this.queue;
    // Reading waits for the clients unless the PBX has waited long enough, or too much waits here.
    const pace = this.mustRead || this.backlog > BACKLOG_MAX ? undefined : this.pace;
    let verdict: PaceVerdict = 'ahead';
    if (this.head < queue.length) {
      if (this.turnStart < 0) {
        this.turnStart = performance.now();
        this.tickLater();
      }
      this.running = true;
      let n = 0;
      try {
        while (this.head < queue.length) {
          const item = queue[this.head]!;
          queue[this.head++] = undefined as T;
          this.handle(item);
          if (this.closed) return;
          if ((++n & 3) === 0) {
            if (pace !== undefined && (verdict = this.verdict(pace)) !== 'ahead') break;
            if (performance.now() - this.turnStart >= this.sliceMs) break;
          }
        }
      } finally {
        this.running = false;
      }
      if (this.head >= queue.length) {
        this.queue = [];
        this.head = 0;
      }
    }
    if (verdict === 'ahead' && pace !== undefined) verdict = this.verdict(pace);
    if (verdict !== 'ahead') this.hold(verdict === 'rescue');
    else this.goOn();
  }

  /** No hold: the rest at a later turn, or, with nothing left, the socket read again. */
  private goOn(): void {
    if (this.head < this.queue.length) this.later();
    else this.reading.resume();
  }

  /** Handles everything that waits, now (the connection is going away: what it said still counts). */
  flushNow(): void {
    while (!this.closed && this.head < this.queue.length) {
      const item = this.queue[this.head]!;
      this.queue[this.head++] = undefined as T;
      this.handle(item);
    }
    this.queue = [];
    this.head = 0;
  }

  /** Nothing more is handled; timers are cleared. */
  close(): void {
    this.closed = true;
    this.reading.close();
    this.queue = [];
    this.head = 0;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.scheduled = false;
    this.endHold(false);
  }

  /**
   * The rest at a later turn, the socket paused meanwhile (unless it must be read first): after
   * the turn's end (when the writes queued in it go out), in the turn after, so that two slices
   * never follow each other in one turn of the event loop.
   */
  private later(): void {
    if (!this.mustRead) this.reading.pause();
    this.scheduled = true;
    this.tickLater();
  }

  /** At the end of this turn: a new turn's slice begins; a run that waits is scheduled for the next turn. */
  private tickLater(): void {
    if (this.tickPending) return;
    this.tickPending = true;
    setImmediate(() => {
      this.tickPending = false;
      this.turnStart = -1;
      if (!this.scheduled || this.closed) return;
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.scheduled = false;
        this.run();
      });
    });
  }

  /** What the clients' pace says, a rescue counted only while the rescue share has time left. */
  private verdict(pace: ClientPace): PaceVerdict {
    const verdict = pace.tally();
    return verdict === 'rescue' && this.rescueLeft(performance.now()) <= 0 ? 'ahead' : verdict;
  }

  /** What is left of the rescue share in the current window (ms). */
  private rescueLeft(now: number): number {
    if (now - this.rescueWindow >= RESCUE_WINDOW_MS) {
      this.rescueWindow = now;
      this.rescueUsed = 0;
    }
    return RESCUE_WINDOW_MS * RESCUE_SHARE - this.rescueUsed;
  }

  /** Waits for every client behind to catch up, unless the PBX has waited long enough: then reads on. */
  private hold(rescue: boolean): void {
    const pace = this.pace!;
    const now = performance.now();
    let left = this.holdMaxMs - (now - this.lastRead);
    if (rescue) {
      // A rescue never makes the PBX wait past its share: then it goes on, not reading one chunk only.
      left = Math.min(left, this.rescueLeft(now));
      if (left <= 0) {
        this.goOn();
        return;
      }
    }
    if (pace.clientsBehind === 0) {
      // They caught up meanwhile (the last write that counted them was flushed).
      this.goOn();
      return;
    }
    if (left <= 0) {
      this.mustRead = true;
      this.reading.resume();
      if (this.head < this.queue.length) this.later();
      return;
    }
    this.holds++;
    this.rescuing = rescue;
    this.holdStart = now;
    this.reading.pause();
    this.holdTimer = setTimeout(() => this.endHold(true), left);
    this.stopWaiting = pace.onCaughtUp(() => this.endHold(true));
  }

  private endHold(goOn: boolean): void {
    if (this.holdTimer === undefined) return;
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    if (this.rescuing) this.rescueUsed += performance.now() - this.holdStart;
    this.rescuing = false;
    this.stopWaiting?.();
    this.stopWaiting = undefined;
    if (goOn) this.run();
  }

}
