import { describe, expect, it } from 'vitest';
import { FloodGuard } from '../src/clients/shared/flood-guard.js';

const limits = { rate: 10, burst: 10, maxThrottledMs: 1000 };

describe('FloodGuard', () => {
  it('lets a burst through at once, then makes the input wait for the rate', () => {
    const g = new FloodGuard(limits, 0);
    expect(g.tokens(0)).toBe(10);
    for (let i = 0; i < 10; i++) g.note(0);
    expect(g.waitMs(0)).toBe(0);
    expect(g.throttled).toBe(false);
    g.note(0);
    expect(g.throttled).toBe(true);
    // One answer ahead of the rate: a tenth of a second to wait at 10 a second.
    expect(g.waitMs(0)).toBe(100);
    expect(g.waitMs(100)).toBe(0);
    expect(g.tokens(100)).toBe(1);
    expect(g.count).toBe(11);
  });

  it('is flooding once the bucket has not filled up again for longer than maxThrottledMs', () => {
    const g = new FloodGuard(limits, 0);
    for (let i = 0; i < 11; i++) g.note(0);
    // Then eleven a second, one over the rate: never full again.
    let now = 0;
    for (; now <= 1500; now += 1000 / 11) {
      g.note(now);
      if (now <= 1000) expect(g.flooding(now)).toBe(false);
    }
    expect(g.flooding(now)).toBe(true);
  });

  it('forgets a burst once the bucket is full again', () => {
    const g = new FloodGuard(limits, 0);
    for (let i = 0; i < 15; i++) g.note(0);
    expect(g.throttled).toBe(true);
    // 1.5 s at 10 a second refills the 15 taken.
    expect(g.flooding(1500)).toBe(false);
    expect(g.throttled).toBe(false);
    for (let i = 0; i < 15; i++) g.note(1500);
    expect(g.flooding(2400)).toBe(false);
    expect(g.flooding(2600)).toBe(true);
  });
});
