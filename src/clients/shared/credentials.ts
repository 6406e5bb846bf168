/** Secret checks shared by every kind of client (raw AMI Login, HTTP Basic, AJAM Login). */
import { createHash, timingSafeEqual } from 'node:crypto';
import { toWire } from '../../ami/message.js';
import type { UserConfig } from '../../config/index.js';
import { verifySecretHash } from '../../access/secret-hash.js';

/** Compares two byte strings in time independent of where they differ (and of their lengths). */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function digest(s: string): Buffer {
  return createHash('sha256').update(Buffer.from(s, 'latin1')).digest();
}

/**
 * A secret that passed an scrypt check, remembered by its SHA-256 per hash, so HTTP Basic
 * requests (a check each) cost one scrypt per user and secret, not one per request.
 */
const verified = new Map<string, Buffer>();
const MAX_REMEMBERED = 10_000;

/** Whether `given` (a byte string) is the user's secret: plain compared in constant time, secret_hash by scrypt. */
export async function secretMatches(user: UserConfig, given: string): Promise<boolean> {
  if (user.secret !== undefined) return constantTimeEqual(given, toWire(user.secret));
  const hash = user.secretHash;
  if (hash === undefined) return false;
  const known = verified.get(hash);
  const d = digest(given);
  if (known !== undefined && timingSafeEqual(known, d)) return true;
  const ok = await verifySecretHash(hash, given);
  if (ok) {
    if (verified.size >= MAX_REMEMBERED) verified.clear();
    verified.set(hash, d);
  }
  return ok;
}

/**
 * The MD5 challenge login: md5(challenge + secret), as Asterisk computes it. Needs the plain
 * secret: always false for a user with only a secret_hash.
 */
export function md5KeyMatches(user: UserConfig, challenge: string, key: string): boolean {
  if (user.secret === undefined) return false;
  const expected = createHash('md5').update(Buffer.from(challenge + toWire(user.secret), 'latin1')).digest('hex');
  return constantTimeEqual(key.toLowerCase(), expected);
}
