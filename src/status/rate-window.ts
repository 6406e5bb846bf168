/**
 * Rates of counters over a short moving window, for the status page's "events per second":
 * the caller samples its counters now and then (a timer, not the event path), and a rate is the
 * growth between the oldest and the newest sample still in the window. Pure: the time of each
 * sample is passed in.
 */

interface Sample {
  readonly at: number;
  readonly counts: ReadonlyMap<string, number>;
}

export class RateWindow {
  private samples: Sample[] = [];

  /** @param windowMs how far back a rate looks (samples older than that are forgotten) */
  constructor(private readonly windowMs: number) {
    if (!(windowMs > 0)) throw new RangeError('a rate window must be longer than 0 ms');
  }

  /** Records the counters' values at `now` (ms). A sample older than the last one is ignored. */
  sample(now: number, counts: ReadonlyMap<string, number>): void {
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && now <= last.at) return;
    this.samples.push({ at: now, counts: new Map(counts) });
    const oldest = now - this.windowMs;
    // The last two samples always stay, so a rate exists even when sampling is slower than the window.
    while (this.samples.length > 2 && this.samples[0]!.at < oldest) this.samples.shift();
  }

  /**
   * Growth of counter `key` per second over the window; undefined until two samples carry it.
   * Never negative: a counter that went down (restarted) gives 0 until the window has passed.
   */
  rate(key: string): number | undefined {
    let first: Sample | undefined;
    let firstValue = 0;
    for (const s of this.samples) {
      const v = s.counts.get(key);
      if (v === undefined) continue;
      first = s;
      firstValue = v;
      break;
    }
    const last = this.samples[this.samples.length - 1];
    const lastValue = last?.counts.get(key);
    if (first === undefined || last === undefined || lastValue === undefined || last.at === first.at) return undefined;
    return (Math.max(0, lastValue - firstValue) * 1000) / (last.at - first.at);
  }
}
