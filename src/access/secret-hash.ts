/**
 * secret_hash: a user's password stored as an scrypt hash (node:crypto), written
 * `scrypt$N$r$p$SALT$HASH` with SALT and HASH in base64. `amiplex hash-secret` prints one.
 * Checking runs in libuv's thread pool, never on the event loop.
 *
 * A bcrypt hash (`$2a$`, `$2b$`, `$2y$`: the Blowfish secrets of astmanproxy.users) is taken
 * as it is and checked by bcryptjs (pure JavaScript, asynchronous in slices so the event loop
 * keeps turning, its comparison constant-time). The secret's UTF-8 text is hashed (bcrypt
 * reads at most 72 bytes of it, as every bcrypt does).
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { fromWire } from '../ami/message.js';

/** Cost parameters of new hashes: about 50 ms and 16 MiB per check. */
const DEFAULT = { N: 16384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const MAX_N = 1 << 20;
/** Most memory one check may take: a secret_hash asking for more is refused, not obeyed. */
export const MAX_SCRYPT_MEMORY = 256 * 1024 ** 2;

function derive(secret: Buffer, salt: Buffer, options: ScryptOptions, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, length, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function memoryFor(N: number, r: number): number {
  return 128 * N * r * 2;
}

/** The secret_hash line for `secret` (a byte string: latin1, as secrets travel on the wire). */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const { N, r, p } = DEFAULT;
  const key = await derive(Buffer.from(secret, 'latin1'), salt, { N, r, p, maxmem: memoryFor(N, r) }, KEY_LENGTH);
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** The highest bcrypt cost accepted: 2^15 rounds take seconds in JavaScript per login. */
export const MAX_BCRYPT_COST = 15;
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/** Whether text is a bcrypt hash amiplex checks: 'ok', 'cost' (too costly), or 'shape' (not one). */
export function bcryptHashShape(text: string): 'ok' | 'cost' | 'shape' {
  const m = BCRYPT.exec(text);
  if (m === null) return 'shape';
  const cost = Number(m[1]);
  return cost >= 4 && cost <= MAX_BCRYPT_COST ? 'ok' : 'cost';
}

/** Whether `given` (a byte string) is the secret `hash` was made from; false for a malformed hash. */
export async function verifySecretHash(hash: string, given: string): Promise<boolean> {
  if (hash.startsWith('$2')) {
    if (bcryptHashShape(hash) !== 'ok') return false;
    try {
      return await bcrypt.compare(fromWire(given), hash);
    } catch {
      return false;
    }
  }
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (!scryptParamsAcceptable(N, r, p)) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (expected.length < 16) return false;
  try {
    const key = await derive(Buffer.from(given, 'latin1'), salt, { N, r, p, maxmem: memoryFor(N, r) }, expected.length);
    return timingSafeEqual(key, expected);
  } catch {
    return false;
  }
}

/** Cost parameters amiplex accepts in a secret_hash: N a power of two, at most MAX_SCRYPT_MEMORY per check. */
export function scryptParamsAcceptable(N: number, r: number, p: number): boolean {
  return N > 1 && N <= MAX_N && (N & (N - 1)) === 0 && r >= 1 && r <= 32 && p >= 1 && p <= 16 && memoryFor(N, r) <= MAX_SCRYPT_MEMORY;
}
