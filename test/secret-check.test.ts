/**
 * A user's secret check as HTTP Basic runs it on every request (src/clients/shared/credentials.ts):
 * answered at once, without scrypt, once a secret is known to be right; a wrong secret still
 * goes through the full check (scrypt for a secret_hash); a reload that changes a user's secret
 * takes effect at the next request, over real sockets.
 */
import { scryptSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig, type UserConfig } from '../src/config/index.js';
import { SecretCheck } from '../src/clients/shared/credentials.js';
import { startHttpFixture } from './helpers/http-fixture.js';
import { fixtureConfigText, stopAllFixtures, type UserSpec } from './helpers/proxy-fixture.js';
import { ECHO_PBX } from './helpers/access-logs.js';

afterEach(stopAllFixtures);

/** A cheap scrypt hash of `secret` (the module's own parameters are slow on purpose). */
function cheapHash(secret: string): string {
  const salt = Buffer.from('0123456789abcdef');
  const key = scryptSync(Buffer.from(secret, 'latin1'), salt, 32, { N: 1024, r: 8, p: 1 });
  return `scrypt$1024$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
}

const user = (fields: Partial<UserConfig>) => ({ name: 'u', servers: ['pbx'], ...fields }) as UserConfig;

describe('SecretCheck', () => {
  it('a plain secret: one comparison, answered at once, whatever the length given', () => {
    const check = new SecretCheck(user({ secret: 's3cret' }));
    expect(check.matches('s3cret')).toBe(true);
    for (const wrong of ['s3creT', 's3cre', 's3cret ', '', 'x'.repeat(127), 'x'.repeat(5000), 's3cret\0']) expect(check.matches(wrong), JSON.stringify(wrong.slice(0, 10))).toBe(false);
  });

  it('a plain secret too long for a record is compared by digest', () => {
    const long = 'p'.repeat(300);
    const check = new SecretCheck(user({ secret: long }));
    expect(check.matches(long)).toBe(true);
    expect(check.matches(long.slice(0, 299))).toBe(false);
    expect(check.matches(`${long}p`)).toBe(false);
  });

  it('secrets are byte strings: the UTF-8 bytes of a secret written in proxy.conf', () => {
    const check = new SecretCheck(user({ secret: 'pässwörd' }));
    expect(check.matches(Buffer.from('pässwörd', 'utf8').toString('latin1'))).toBe(true);
    expect(check.matches('pässwörd')).toBe(false);
  });

  it('a secret_hash: scrypt the first time, then at once; a wrong secret still goes through scrypt', async () => {
    const check = new SecretCheck(user({ secretHash: cheapHash('h-secret') }));
    const first = check.matches('h-secret');
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toBe(true);
    expect(check.matches('h-secret')).toBe(true);
    const wrong = check.matches('h-secreT');
    expect(wrong).toBeInstanceOf(Promise);
    expect(await wrong).toBe(false);
    expect(check.matches('h-secret')).toBe(true);
  });

  it('after a reload, the verified secret is kept only for a secret_hash left as it was', async () => {
    const hash = cheapHash('h-secret');
    const before = new SecretCheck(user({ secretHash: hash }));
    expect(await before.matches('h-secret')).toBe(true);
    expect(new SecretCheck(user({ secretHash: hash })).keepFrom(before).matches('h-secret')).toBe(true);
    const changed = new SecretCheck(user({ secretHash: cheapHash('other') })).keepFrom(before);
    const check = changed.matches('h-secret');
    expect(check).toBeInstanceOf(Promise);
    expect(await check).toBe(false);
  });
});

describe('HTTP Basic and a reload', () => {
  it("a changed secret, plain or secret_hash, takes effect at the next request; the old one is refused", async () => {
    const users: UserSpec[] = [{ name: 'alice' }, { name: 'hank', settings: { secret_hash: cheapHash('hank-1') } }];
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', ...ECHO_PBX }], users, general: { auth_fail_delay: 0, lockout_failures: 0 } });
    const ping = (name: string, secret: string) => h.get('/rawman?Action=Ping', { headers: { Authorization: h.basic(name, secret) } });
    for (let i = 0; i < 3; i++) {
      expect((await ping('alice', 'alice-secret')).status).toBe(200);
      expect((await ping('hank', 'hank-1')).status).toBe(200);
    }
    const text = fixtureConfigText([{ name: 'pbx1', port: h.fx.pbx('pbx1').port }], [{ name: 'alice', secret: 'alice-2' }, { name: 'hank', settings: { secret_hash: cheapHash('hank-2') } }], { auth_fail_delay: 0, lockout_failures: 0 });
    await h.fx.proxy.reload(parseConfig(text, 'test-proxy.conf'));
    expect((await ping('alice', 'alice-secret')).status).toBe(401);
    expect((await ping('hank', 'hank-1')).status).toBe(401);
    expect((await ping('alice', 'alice-2')).status).toBe(200);
    expect((await ping('hank', 'hank-2')).status).toBe(200);
  });
});
