/**
 * How fast one client's malformed input (bare blank lines, lines too long, messages without an
 * Action) is answered. Asterisk answers each with its own `Response: Error`, and so does
 * amiplex, byte for byte — but at a bounded rate: a token bucket of `burst` answers refilled at
 * `rate` a second. Once it is empty the client's input waits (the caller pauses it) until there
 * is a token again; a client that keeps the bucket from ever filling up again for longer than
 * `maxThrottledMs` is flooding, and is disconnected by the caller.
 *
 * Pure: the caller passes the clock.
 */
export interface FloodLimits {
  /** Answers to malformed input per second, on average. */
  readonly rate: number;
  /** Answered at once before the rate applies. */
  readonly burst: number;
  /** Throttled without a break (the bucket never full again) for longer than this: flooding. */
  readonly maxThrottledMs: number;
}

export class FloodGuard {
  /** Tokens left; below zero, the answers already given ahead of the rate. */
  private level: number;
  private at: number;
  /** When the bucket last ran dry, until it is full again. */
  private drySince: number | undefined;

  constructor(
    readonly limits: FloodLimits,
    now: number,
  ) {
    this.level = limits.burst;
    this.at = now;
  }

  /** Malformed inputs noted so far. */
  count = 0;

  /** One more malformed input was answered. */
  note(now: number): void {
    this.count++;
    this.refill(now);
    this.level--;
    if (this.level < 0) this.drySince ??= now;
  }

  /** Whether the bucket ran dry and has not filled up again since (as of the last call that took the clock). */
  get throttled(): boolean {
    return this.drySince !== undefined;
  }

  /**
   * How many more malformed inputs may be answered now, at least 1 once waitMs is 0: the caller
   * hands the decoder no more bytes than that (each malformed input is at least one byte).
   */
  tokens(now: number): number {
    this.refill(now);
    return Math.max(1, Math.floor(this.level));
  }

  /** How long (ms) the client's input must wait before more of it is handled; 0: it need not. */
  waitMs(now: number): number {
    this.refill(now);
    return this.level >= 0 ? 0 : Math.ceil((-this.level * 1000) / this.limits.rate);
  }

  /** Whether the client has kept the bucket from filling up again for longer than maxThrottledMs. */
  flooding(now: number): boolean {
    this.refill(now);
    return this.drySince !== undefined && now - this.drySince > this.limits.maxThrottledMs;
  }

  private refill(now: number): void {
    if (now > this.at) {
      this.level = Math.min(this.limits.burst, this.level + ((now - this.at) * this.limits.rate) / 1000);
      this.at = now;
    }
    if (this.level >= this.limits.burst) this.drySince = undefined;
  }
}
