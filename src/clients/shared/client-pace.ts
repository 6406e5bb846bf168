/**
 * Whether the clients keep up with the PBXes: what a PBX session paces its reading by
 * (src/upstream/upstream-pacer.ts).
 *
 * A client's output is *behind* while its socket refuses more (the kernel's buffers are full)
 * with a quarter of its `client_buffer` or more unsent (output-queue.ts tells when it falls
 * behind and when it catches up), *ahead* otherwise; *at risk* while behind and over its
 * `client_buffer` (the slow-client rules are counting its time). Every write queued for a client
 * of any kind is tallied as going to one ahead, behind or at risk, and the tally of the last few
 * messages says:
 *
 * - `capacity`: most writes went to clients behind. The PBX outruns the machine — capacity, not
 *   one slow client — and the session stops handling and reading for a moment (TCP
 *   backpressure) until every client behind has caught up.
 * - `rescue`: some went to a client at risk. It may be slow, or only unlucky: the kernel hides
 *   megabytes of backlog behind a client that looks ahead (its socket still takes more), so in
 *   a flood the clients whose buffers happen to be smaller show all the backlog of a machine at
 *   capacity, while most look ahead. The session holds the same way, but for a bounded share of
 *   the time only (upstream-pacer.ts): a client that reads about as fast as the others drains
 *   meanwhile; one that reads slower still goes over, and the slow-client rules cut it off.
 * - `ahead`: reading goes on at full speed.
 *
 * A client behind whose socket has taken nothing for STALL_MS has stopped reading: from then on
 * it counts for nothing here (and the slow-client rules cut it off), until its socket takes
 * something again.
 */

/** How long a client behind may go without its socket taking anything, and still pace the PBXes (ms). */
export const STALL_MS = 1000;

export type PaceVerdict = 'ahead' | 'rescue' | 'capacity';

export class ClientPace {
  private ahead = 0;
  private behind = 0;
  private atRisk = 0;
  /** Clients behind now (stalled ones not counted). */
  private behindNow = 0;
  private readonly waiters = new Set<() => void>();
  private waking = false;

  /** Clients behind now, stalled ones not counted. */
  get clientsBehind(): number {
    return this.behindNow;
  }

  /** A write queued for a client ahead, behind, or behind and over client_buffer (at risk); a stalled one's is not tallied. */
  wrote(behind: boolean, atRisk = false): void {
    if (!behind) this.ahead++;
    else if (atRisk) this.atRisk++;
    else this.behind++;
  }

  /** What the writes tallied since the last call say (see above); starts a new tally. */
  tally(): PaceVerdict {
    const behind = this.behind + this.atRisk;
    const verdict: PaceVerdict = behind > this.ahead ? 'capacity' : this.atRisk > 0 ? 'rescue' : 'ahead';
    this.ahead = 0;
    this.behind = 0;
    this.atRisk = 0;
    return verdict;
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
