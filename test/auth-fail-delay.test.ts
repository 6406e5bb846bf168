/**
 * remainingFailDelay: a failed login is answered auth_fail_delay after its check began, whatever
 * the check cost (an unknown user is refused at once, a secret_hash after scrypt), so the
 * answer's timing does not say which it was.
 */
import { describe, expect, it } from 'vitest';
import { remainingFailDelay } from '../src/access/authenticator.js';

describe('remainingFailDelay', () => {
  it('waits what is left of the delay after the check', () => {
    // Unknown user: the check took nothing; scrypt: it took 60 ms; both answered at 1000 ms.
    expect(remainingFailDelay(1000, 5000, 5000)).toBe(1000);
    expect(remainingFailDelay(1000, 5000, 5060)).toBe(940);
    expect(5000 + remainingFailDelay(1000, 5000, 5000)).toBe(5060 + remainingFailDelay(1000, 5000, 5060));
  });

  it('never negative: a check longer than the delay is answered at once', () => {
    expect(remainingFailDelay(1000, 5000, 7000)).toBe(0);
    expect(remainingFailDelay(0, 5000, 5000)).toBe(0);
  });

  it('a clock that stepped back does not lengthen the delay', () => {
    expect(remainingFailDelay(1000, 5000, 4000)).toBe(1000);
  });
});
