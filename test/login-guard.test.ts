/**
 * The brute-force brake (src/access/login-guard.ts), driven with explicit times.
 */
import { describe, expect, it } from 'vitest';

import { LoginGuard } from '../src/access/login-guard.js';

const A = '192.0.2.1';
const B = '192.0.2.2';
const C = '192.0.2.3';

describe('LoginGuard', () => {
  it('locks an address out after `failures` failures within the window, for lockoutMs', () => {
    const g = new LoginGuard({ failures: 3, windowMs: 60_000, lockoutMs: 300_000 });
    expect(g.failed(A, 1000)).toBe(false);
    expect(g.failed(A, 2000)).toBe(false);
    expect(g.lockedUntil(A, 2000)).toBeUndefined();
    expect(g.failed(A, 3000)).toBe(true);
    expect(g.lockedUntil(A, 3000)).toBe(303_000);
    expect(g.lockedUntil(A, 302_999)).toBe(303_000);
    expect(g.lockedUntil(A, 303_000)).toBeUndefined();
    expect(g.lockedUntil(B, 3000)).toBeUndefined();
  });

  it('failures outside the window do not add up', () => {
    const g = new LoginGuard({ failures: 3, windowMs: 10_000, lockoutMs: 60_000 });
    expect([g.failed(A, 0), g.failed(A, 6000), g.failed(A, 12_000), g.failed(A, 18_000)]).toEqual([false, false, false, false]);
    expect(g.failed(A, 19_000)).toBe(true);
  });

  it('a failure during a lockout does not extend it; after it, counting starts again', () => {
    const g = new LoginGuard({ failures: 2, windowMs: 1000, lockoutMs: 5000 });
    g.failed(A, 0);
    expect(g.failed(A, 100)).toBe(true);
    expect(g.failed(A, 200)).toBe(false);
    expect(g.lockedUntil(A, 200)).toBe(5100);
    expect(g.failed(A, 6000)).toBe(false);
    expect(g.failed(A, 6500)).toBe(true);
  });

  it('a successful login clears the count', () => {
    const g = new LoginGuard({ failures: 2, windowMs: 60_000, lockoutMs: 60_000 });
    g.failed(A, 0);
    g.succeeded(A);
    expect(g.failed(A, 1)).toBe(false);
    expect(g.failed(A, 2)).toBe(true);
  });

  it('failures = 0 turns it off', () => {
    const g = new LoginGuard({ failures: 0, windowMs: 60_000, lockoutMs: 60_000 });
    for (let t = 0; t < 100; t++) expect(g.failed(A, t)).toBe(false);
    expect(g.lockedUntil(A, 100)).toBeUndefined();
  });

  it('an IPv4 peer is one address whether or not it comes as IPv4-mapped IPv6', () => {
    const g = new LoginGuard({ failures: 2, windowMs: 60_000, lockoutMs: 60_000 });
    expect(g.failed('192.0.2.9', 0)).toBe(false);
    expect(g.failed('::ffff:192.0.2.9', 1)).toBe(true);
    expect(g.lockedUntil('192.0.2.9', 2)).toBe(60_001);
    expect(g.lockedUntil('::FFFF:192.0.2.9', 2)).toBe(60_001);
    g.failed('2001:DB8::1', 3);
    expect(g.failed('2001:db8::1', 4)).toBe(true);
  });

  it('remembers at most maxTracked addresses, the oldest forgotten first', () => {
    const g = new LoginGuard({ failures: 2, windowMs: 60_000, lockoutMs: 60_000, maxTracked: 2 });
    g.failed(A, 0);
    g.failed(B, 1);
    g.failed(C, 2); // A is forgotten
    expect(g.failed(A, 3)).toBe(false);
    expect(g.failed(C, 4)).toBe(true);
  });

  it('sweep forgets stale addresses, so a busy one is not pushed out by newcomers', () => {
    const g = new LoginGuard({ failures: 2, windowMs: 1000, lockoutMs: 60_000, maxTracked: 2 });
    g.failed(A, 0);
    g.failed(B, 100);
    g.failed(A, 1500);
    g.sweep(1600); // B's last failure is older than the window: forgotten; A's is recent
    g.failed(C, 1700); // room for C without pushing A out
    expect(g.failed(A, 1800)).toBe(true);
  });

  it('new limits apply to what was already counted', () => {
    const g = new LoginGuard({ failures: 5, windowMs: 60_000, lockoutMs: 60_000 });
    g.failed(A, 0);
    g.failed(A, 1);
    g.configure({ failures: 3, windowMs: 60_000, lockoutMs: 1000 });
    expect(g.failed(A, 2)).toBe(true);
    expect(g.lockedUntil(A, 2)).toBe(1002);
  });
});
