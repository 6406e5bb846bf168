/**
 * Whether the clients keep up with the PBXes: what a PBX session paces its reading by
 * (src/upstream/upstream-pacer.ts).
 *
 * A client's output is *behind* while its socket refuses more (the kernel's buffers are full)
 * with a quarter of its `client_buffer` or more unsent (output-queue.ts tells when it falls
 * behind and when it catches up), *ahead* otherwise. Every
 * write queued for a client of any kind is tallied as going to one ahead or one behind. When
 * every write of the last few messages went to clients behind, the PBX outruns the machine —
 * capacity, not one slow client — and the session stops handling and reading for a moment (TCP
 * backpressure) until every client behind has caught up: their unsent output stays near a
 * quarter of client_buffer, and no client is cut off for what the machine cannot do.
 *
 * One client ahead is enough for reading to go on at full speed: a slow client among fast ones
 * never slows the others, and the slow-client rules (client_buffer, slow_client_timeout,
 * client_buffer_max, client_buffer_total) cut it off as before. A client behind for over
 * STALL_MS without catching up once has stopped reading: from then on it counts for nothing
 * here (and the same rules cut it off).
 */

/** How long a client may stay behind, without catching up once, and still pace the PBXes (ms). */
export const STALL_MS = 1000;

export class ClientPace {
  private ahead = 0;
  private behind = 0;
  /** Clients behind now (stalled ones not counted). */
  private behindNow = 0;
  private readonly waiters = new Set<() => void>();
  private waking = false;

  /** Clients behind now, stalled ones not counted. */
  get clientsBehind(): number {
    return this.behindNow;
  }

  /** A write queued for a client ahead (false) or behind (true); a stalled one's is not tallied. */
  wrote(behind: boolean): void {
    if (behind) this.behind++;
    else this.ahead++;
  }

  /** Whether every write tallied since the last call went to a client behind (and some did); starts a new tally. */
  allBehind(): boolean {
    const all = this.behind > 0 && this.ahead === 0;
    this.ahead = 0;
    this.behind = 0;
    return all;
  }

  /** A client fell behind. */
  fellBehind(): void {
    this.behindNow++;
  }

  /**
   * A client behind caught up, stalled or went away: when it was the last, whoever waits goes on —
   * once the current work is done (it may be in the middle of a fan-out, which must end first).
   */
  released(): void {
    if (--this.behindNow > 0 || this.waiters.size === 0 || this.waking) return;
    this.waking = true;
    queueMicrotask(() => {
      this.waking = false;
      if (this.behindNow > 0) return;
      for (const wake of [...this.waiters]) wake();
    });
  }

  /** Calls `wake` once no client is behind, until the returned function is called. */
  onCaughtUp(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => void this.waiters.delete(wake);
  }
}
