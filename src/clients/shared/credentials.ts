/** Secret checks shared by every kind of client (raw AMI Login, HTTP Basic, AJAM Login). */
import { createHash, hash, timingSafeEqual } from 'node:crypto';
import { toWire } from '../../ami/message.js';
import type { UserConfig } from '../../config/index.js';
import { verifySecretHash } from '../../access/secret-hash.js';

/** Compares two byte strings in time independent of where they differ (and of their lengths). */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(secretDigest(a), secretDigest(b));
}

/** SHA-256 of a byte string: what secrets are compared by, so that neither content nor length shows in the time taken. */
export function secretDigest(s: string): Buffer {
  return hash('sha256', Buffer.from(s, 'latin1'), 'buffer');
}

/**
 * A plain secret of up to RECORD_BYTES - 2 bytes is compared as a fixed-width record (its
 * length, its bytes, zeros): one constant-time comparison of RECORD_BYTES, whatever the lengths,
 * and no hashing. Longer ones are compared by digest.
 */
const RECORD_BYTES = 128;
/** Where the secret given is laid out for the comparison (requests are checked one at a time). */
const given = Buffer.alloc(RECORD_BYTES);

/** Lays `secret` (a byte string) out as a record in `into`; false when it is too long for one. */
function record(secret: string, into: Buffer): boolean {
  if (secret.length > RECORD_BYTES - 2) return false;
  into.fill(0);
  into.writeUInt16BE(secret.length, 0);
  into.write(secret, 2, 'latin1');
  return true;
}

/**
 * One user's secret check, kept by the authenticator until a reload replaces the user, so that
 * each check after the first (every HTTP Basic request is one) is a single constant-time
 * comparison: against the plain `secret` as a record (or its digest, when long), or against the
 * digest of the secret that last passed the hash's check for a `secret_hash` (scrypt, or bcrypt
 * from astmanproxy). A secret that does not match that digest still goes through that full check.
 */
export class SecretCheck {
  private readonly plain: Buffer | undefined;
  private verified: Buffer | undefined;

  constructor(readonly user: UserConfig) {
    if (user.secret === undefined) return;
    const wire = toWire(user.secret);
    const plain = Buffer.alloc(RECORD_BYTES);
    if (record(wire, plain)) this.plain = plain;
    else this.verified = secretDigest(wire);
  }

  /** Whether `secret` (a byte string) is the user's secret: at once when no scrypt or bcrypt is needed. */
  matches(secret: string): boolean | Promise<boolean> {
    // Too long for a record: not this secret, which fits one.
    if (this.plain !== undefined) return record(secret, given) && timingSafeEqual(given, this.plain);
    const d = secretDigest(secret);
    if (this.verified !== undefined && timingSafeEqual(this.verified, d)) return true;
    const secretHash = this.user.secretHash;
    // A plain secret: the comparison above was the whole check.
    if (this.user.secret !== undefined || secretHash === undefined) return false;
    return verifySecretHash(secretHash, secret).then((ok) => {
      if (ok) this.verified = d;
      return ok;
    });
  }

  /** The verified secret of `previous`, kept when a reload left the user's secret_hash as it was. */
  keepFrom(previous: SecretCheck | undefined): this {
    if (previous !== undefined && this.verified === undefined && previous.user.secretHash !== undefined && previous.user.secretHash === this.user.secretHash) {
      this.verified = previous.verified;
    }
    return this;
  }
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
