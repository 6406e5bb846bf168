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
    expect(g.failed(A, 'u', 1000)).toBeUndefined();
    expect(g.failed(A, 'u', 2000)).toBeUndefined();
    expect(g.lockedUntil(A, 2000)).toBeUndefined();
    expect(g.failed(A, 'u', 3000)).toBe('address');
    expect(g.lockedUntil(A, 3000)).toBe(303_000);
    expect(g.lockedUntil(A, 302_999)).toBe(303_000);
    expect(g.lockedUntil(A, 303_000)).toBeUndefined();
    expect(g.lockedUntil(B, 3000)).toBeUndefined();
  });

  it('failures outside the window do not add up', () => {
    const g = new LoginGuard({ failures: 3, windowMs: 10_000, lockoutMs: 60_000 });
    expect([g.failed(A, 'u', 0), g.failed(A, 'u', 6000), g.failed(A, 'u', 12_000), g.failed(A, 'u', 18_000)]).toEqual([undefined, undefined, undefined, undefined]);
    expect(g.failed(A, 'u', 19_000)).toBe('address');
  });

  it('a failure during a lockout does not extend it; after it, counting starts again', () => {
    const g = new LoginGuard({ failures: 2, windowMs: 1000, lockoutMs: 5000 });
    g.failed(A, 'u', 0);
    expect(g.failed(A, 'u', 100)).toBe('address');
    expect(g.failed(A, 'u', 200)).toBeUndefined();
    expect(g.lockedUntil(A, 200)).toBe(5100);
    expect(g.failed(A, 'u', 6000)).toBeUndefined();
    expect(g.failed(A, 'u', 6500)).toBe('address');
  });

  it('a successful login clears that user\'s count', () => {
    const g = new LoginGuard({ failures: 2, windowMs: 60_000, lockoutMs: 60_000 });
    g.failed(A, 'u', 0);
    g.succeeded(A, 'u', 1);
    expect(g.failed(A, 'u', 1)).toBeUndefined();
    expect(g.failed(A, 'u', 2)).toBe('address');
  });

  it('failures = 0 turns it off', () => {
    const g = new LoginGuard({ failures: 0, windowMs: 60_000, lockoutMs: 60_000 });
    for (let t = 0; t < 100; t++) expect(g.failed(A, 'u', t)).toBeUndefined();
    expect(g.lockedUntil(A, 100)).toBeUndefined();
  });

  it('an IPv4 peer is one address whether or not it comes as IPv4-mapped IPv6', () => {
    const g = new LoginGuard({ failures: 2, windowMs: 60_000, lockoutMs: 60_000 });
    expect(g.failed('192.0.2.9', 'u', 0)).toBeUndefined();
    expect(g.failed('::ffff:192.0.2.9', 'u', 1)).toBe('address');
    expect(g.lockedUntil('192.0.2.9', 2)).toBe(60_001);
    expect(g.lockedUntil('::FFFF:192.0.2.9', 2)).toBe(60_001);
    g.failed('2001:DB8::1', 'u', 3);
    expect(g.failed('2001:db8::1', 'u', 4)).toBe('address');
  });

  it('remembers at most maxTracked addresses, the oldest forgotten first', () => {
    const g = new LoginGuard({ failures: 2, windowMs: 60_000, lockoutMs: 60_000, maxTracked: 2 });
    g.failed(A, 'u', 0);
    g.failed(B, 'u', 1);
    g.failed(C, 'u', 2); // A is forgotten
    expect(g.failed(A, 'u', 3)).toBeUndefined();
    expect(g.failed(C, 'u', 4)).toBe('address');
  });

  it('sweep forgets stale addresses, so a busy one is not pushed out by newcomers', () => {
    const g = new LoginGuard({ failures: 2, windowMs: 1000, lockoutMs: 60_000, maxTracked: 2 });
    g.failed(A, 'u', 0);
    g.failed(B, 'u', 100);
    g.failed(A, 'u', 1500);
    g.sweep(1600); // B's last failure is older than the window: forgotten; A's is recent
    g.failed(C, 'u', 1700); // room for C without pushing A out
    expect(g.failed(A, 'u', 1800)).toBe('address');
  });

  it('new limits apply to what was already counted', () => {
    const g = new LoginGuard({ failures: 5, windowMs: 60_000, lockoutMs: 60_000 });
    g.failed(A, 'u', 0);
    g.failed(A, 'u', 1);
    g.configure({ failures: 3, windowMs: 60_000, lockoutMs: 1000 });
    expect(g.failed(A, 'u', 2)).toBe('address');
    expect(g.lockedUntil(A, 2)).toBe(1002);
  });

  it('a success by one user does not clear the failures of another user from the same address (the bypass)', () => {
    const g = new LoginGuard({ failures: 5, windowMs: 60_000, lockoutMs: 300_000 });
    // Four guesses at bob, then the guesser logs in as itself, again and again.
    let locked: string | undefined;
    let t = 0;
    for (let round = 0; round < 3 && locked === undefined; round++) {
      for (let i = 0; i < 4 && locked === undefined; i++) locked = g.failed(A, 'bob', t++);
      g.succeeded(A, 'mallory', t++);
    }
    expect(locked).toBe('address');
    expect(t).toBeLessThanOrEqual(7);
    expect(g.blocked(A, 'bob', t)).toEqual({ scope: 'address', until: expect.any(Number) });
    expect(g.blocked(A, 'mallory', t)).toEqual({ scope: 'address', until: expect.any(Number) });
  });

  it('a success clears only the failures of that user from that address', () => {
    const g = new LoginGuard({ failures: 3, windowMs: 60_000, lockoutMs: 60_000 });
    g.failed(A, 'alice', 0);
    g.failed(A, 'bob', 1);
    g.succeeded(A, 'ALICE', 2); // names without case, as logins
    expect(g.failed(A, 'carol', 3)).toBeUndefined(); // bob + carol: 2
    expect(g.failed(A, 'alice', 4)).toBe('address'); // bob + carol + alice: 3
  });

  it('failures without a user name (malformed credentials) count, and no success clears them', () => {
    const g = new LoginGuard({ failures: 3, windowMs: 60_000, lockoutMs: 60_000 });
    g.failed(A, undefined, 0);
    g.failed(A, undefined, 1);
    g.succeeded(A, 'alice', 2);
    expect(g.failed(A, undefined, 3)).toBe('address');
  });

  it('locks a user name guessed from many addresses, but not from the addresses it logged in from', () => {
    const g = new LoginGuard({ failures: 5, userFailures: 4, windowMs: 60_000, lockoutMs: 60_000 });
    g.succeeded('198.51.100.7', 'bob', 0); // bob's own desk
    const spread = ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4'];
    const results = spread.map((addr, i) => g.failed(addr, 'Bob', 10 + i));
    expect(results).toEqual([undefined, undefined, undefined, 'user']);
    expect(g.blocked('203.0.113.9', 'bob', 20)).toEqual({ scope: 'user', until: 60_013 });
    expect(g.blocked('203.0.113.9', 'alice', 20)).toBeUndefined();
    expect(g.blocked('198.51.100.7', 'bob', 20)).toBeUndefined();
    expect(g.blocked('203.0.113.9', 'bob', 60_013)).toBeUndefined();
    // No address reached its own limit.
    for (const addr of spread) expect(g.lockedUntil(addr, 20)).toBeUndefined();
  });

  it('the per-user count is off unless userFailures is set', () => {
    const g = new LoginGuard({ failures: 5, windowMs: 60_000, lockoutMs: 60_000 });
    for (let i = 0; i < 50; i++) expect(g.failed(`203.0.113.${i}`, 'bob', i)).toBeUndefined();
    expect(g.blocked('203.0.113.200', 'bob', 60)).toBeUndefined();
  });

  it('a user\'s success from an address clears its failures from there in the per-user count too', () => {
    const g = new LoginGuard({ failures: 0, userFailures: 4, windowMs: 60_000, lockoutMs: 60_000 });
    g.failed(A, 'bob', 0);
    g.failed(A, 'bob', 1);
    g.failed(B, 'bob', 2);
    g.succeeded(A, 'bob', 3);
    expect(g.failed(C, 'bob', 4)).toBeUndefined(); // B + C: 2
    expect(g.failed(C, 'bob', 5)).toBeUndefined(); // 3
    expect(g.failed(C, 'bob', 6)).toBe('user');
  });
});
