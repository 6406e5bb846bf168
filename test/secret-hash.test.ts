/**
 * secret_hash (src/access/secret-hash.ts): scrypt hashes as `amiplex hash-secret` prints them,
 * checked without ever accepting a malformed or tampered hash.
 */
import { scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { hashSecret, verifySecretHash } from '../src/access/secret-hash.js';
import { secretHash } from '../src/config/values.js';

/** A hash with chosen (cheap) parameters, made independently of the module. */
function cheapHash(secret: string, N = 1024, r = 8, p = 1, length = 32): string {
  const salt = Buffer.from('0123456789abcdef');
  const key = scryptSync(Buffer.from(secret, 'latin1'), salt, length, { N, r, p });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

describe('hashSecret / verifySecretHash', () => {
  it('a new hash verifies its secret and nothing else, and proxy.conf accepts it', async () => {
    const hash = await hashSecret('s3cret');
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    expect(secretHash().parse(hash)).toEqual({ ok: true, value: hash });
    expect(await verifySecretHash(hash, 's3cret')).toBe(true);
    expect(await verifySecretHash(hash, 's3cret ')).toBe(false);
    expect(await verifySecretHash(hash, 'S3cret')).toBe(false);
    expect(await verifySecretHash(hash, '')).toBe(false);
  });

  it('every hash has its own salt', async () => {
    const [a, b] = await Promise.all([hashSecret('same'), hashSecret('same')]);
    expect(a).not.toBe(b);
  });

  it('secrets are byte strings: UTF-8 secrets as they arrive on the wire', async () => {
    const wire = Buffer.from('pässwörd', 'utf8').toString('latin1');
    const hash = await hashSecret(wire);
    expect(await verifySecretHash(hash, wire)).toBe(true);
    expect(await verifySecretHash(hash, 'pässwörd')).toBe(false);
  });

  it('takes the parameters written in the hash', async () => {
    expect(await verifySecretHash(cheapHash('x', 1024, 4, 2), 'x')).toBe(true);
    expect(await verifySecretHash(cheapHash('x', 2048, 8, 1, 64), 'x')).toBe(true);
  });

  it('a malformed or tampered hash never verifies', async () => {
    const good = cheapHash('x');
    const parts = good.split('$');
    const key = Buffer.from(parts[5]!, 'base64');
    key[0] = key[0]! ^ 1;
    const tampered = [...parts.slice(0, 5), key.toString('base64')].join('$');
    const bad = [
      tampered,
      good.replace('scrypt$', 'bcrypt$'),
      good.split('$').slice(0, 5).join('$'),
      good + '$extra',
      good.replace('$1024$', '$1000$'), // N not a power of two
      good.replace('$1024$', '$1$'),
      good.replace('$1024$', `$${2 ** 21}$`), // N too large
      good.replace('$8$1$', '$0$1$'),
      good.replace('$8$1$', '$33$1$'),
      good.replace('$8$1$', '$8$0$'),
      good.replace('$8$1$', '$8$17$'),
      [...parts.slice(0, 5), key.subarray(0, 8).toString('base64')].join('$'), // hash too short
      'scrypt$1024$8$1$$',
      '',
    ];
    for (const h of bad) expect(await verifySecretHash(h, 'x'), h).toBe(false);
  });
});

describe('bcrypt hashes (astmanproxy.users)', () => {
  it('$2a$, $2b$ and $2y$ hashes made by bcryptjs verify their secret and nothing else; proxy.conf accepts them', async () => {
    const bcrypt = (await import('bcryptjs')).default;
    const made = bcrypt.hashSync('s3cret', 4);
    for (const minor of ['a', 'b', 'y']) {
      const hash = `$2${minor}$${made.slice(4)}`;
      expect(secretHash().parse(hash)).toEqual({ ok: true, value: hash });
      expect(await verifySecretHash(hash, 's3cret')).toBe(true);
      expect(await verifySecretHash(hash, 's3cret ')).toBe(false);
      expect(await verifySecretHash(hash, '')).toBe(false);
    }
    // A non-ASCII secret: its UTF-8 bytes, as sent on the wire.
    const utf8 = bcrypt.hashSync('pässword', 4);
    expect(await verifySecretHash(utf8, Buffer.from('pässword', 'utf8').toString('latin1'))).toBe(true);
  });

  it('refuses malformed hashes and a cost over the limit, in proxy.conf and when checking', async () => {
    const bcrypt = (await import('bcryptjs')).default;
    const made = bcrypt.hashSync('x', 4);
    for (const bad of [made.slice(0, -1), `$2x$${made.slice(4)}`, made.replace('$04$', '$4$')]) {
      expect(secretHash().parse(bad).ok, bad).toBe(false);
      expect(await verifySecretHash(bad, 'x')).toBe(false);
    }
    const costly = made.replace('$04$', '$16$');
    expect(secretHash().parse(costly)).toEqual({ ok: false, reason: expect.stringMatching(/^bcrypt cost out of range/) });
    expect(await verifySecretHash(costly, 'x')).toBe(false);
  });
});
