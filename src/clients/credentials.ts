/** Secret checks shared by every kind of client (raw AMI Login, HTTP Basic, AJAM Login). */
import { createHash, timingSafeEqual } from 'node:crypto';
import { toWire } from '../ami/message.js';
import type { UserConfig } from '../config/index.js';

/** Compares two byte strings in time independent of where they differ (and of their lengths). */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(Buffer.from(a, 'latin1')).digest();
  const hb = createHash('sha256').update(Buffer.from(b, 'latin1')).digest();
  return timingSafeEqual(ha, hb);
}

/** Whether `given` (a byte string) is the user's secret, compared in constant time. */
export function secretMatches(user: UserConfig, given: string): boolean {
  return constantTimeEqual(given, toWire(user.secret));
}
