/**
 * Who may log in, over real sockets through a running amiplex: plain and MD5 challenge logins,
 * secret_hash users, the delay and close after a failure, the lockout of an address (even the
 * right secret refused, other addresses unaffected), authtimeout, authlimit, and a user's
 * permit/deny over IPv4 and IPv6 loopback.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { hashSecret } from '../src/access/secret-hash.js';
import { AmiTestClient, header, md5Key, type Received } from './helpers/ami-test-client.js';
import { logRecords } from './helpers/access-logs.js';
import { startFixture, stopAllFixtures, type UserSpec } from './helpers/proxy-fixture.js';
import { startHttpFixture } from './helpers/http-fixture.js';

const extra: AmiTestClient[] = [];
afterEach(async () => {
  await Promise.allSettled(extra.splice(0).map((c) => c.close()));
  await stopAllFixtures();
});

async function connectTo(port: number, host: string, localAddress?: string): Promise<AmiTestClient> {
  const c = await AmiTestClient.connect(port, host, localAddress === undefined ? {} : { localAddress });
  extra.push(c);
  return c;
}

function loginAction(c: AmiTestClient, user: string, secret: string): Promise<Received> {
  return c.action([['Action', 'Login'], ['ActionID', 'l1'], ['Username', user], ['Secret', secret]]);
}

const FAILED = 'Response: Error\r\nActionID: l1\r\nMessage: Authentication failed\r\n\r\n';
const ACCEPTED = 'Response: Success\r\nActionID: l1\r\nMessage: Authentication accepted\r\n\r\n';

/** A failed login: Asterisk's answer, then the connection closes. */
async function expectFailed(c: AmiTestClient, user: string, secret: string): Promise<void> {
  const r = await loginAction(c, user, secret);
  expect(r.raw).toBe(FAILED);
  await c.waitClosed();
}

async function md5Login(c: AmiTestClient, user: string, secret: string): Promise<Received> {
  const ch = await c.action([['Action', 'Challenge'], ['ActionID', 'c1'], ['AuthType', 'MD5']]);
  expect(header(ch, 'Response')).toBe('Success');
  const challenge = header(ch, 'Challenge')!;
  expect(challenge).toMatch(/^\d+$/);
  return c.action([['Action', 'Login'], ['ActionID', 'l1'], ['AuthType', 'MD5'], ['Username', user], ['Key', md5Key(challenge, secret)]]);
}

describe('logging in', () => {
  it('plain secret, MD5 challenge, and a secret_hash user (for whom MD5 is impossible)', async () => {
    const users: UserSpec[] = [{ name: 'plain', secret: 'p-secret' }, { name: 'hashed', settings: { secret_hash: await hashSecret('h-secret') } }];
    const fx = await startFixture({ users, general: { auth_fail_delay: 0, lockout_failures: 0 } });
    const a = await fx.client();
    expect((await loginAction(a, 'plain', 'p-secret')).raw).toBe(ACCEPTED);
    const b = await fx.client();
    expect((await md5Login(b, 'plain', 'p-secret')).raw).toBe(ACCEPTED);
    expect(header(await b.action([['Action', 'Ping'], ['ActionID', 'p']]), 'Response')).toBe('Success');
    const c = await fx.client();
    expect((await md5Login(c, 'plain', 'wrong')).raw).toBe(FAILED);
    await c.waitClosed();
    const d = await fx.client();
    expect((await loginAction(d, 'hashed', 'h-secret')).raw).toBe(ACCEPTED);
    await expectFailed(await fx.client(), 'hashed', 'p-secret');
    const e = await fx.client();
    expect((await md5Login(e, 'hashed', 'h-secret')).raw).toBe(FAILED);
    await e.waitClosed();
    await expectFailed(await fx.client(), 'nobody', 'p-secret');
  });

  it('a wrong secret is answered after auth_fail_delay (about 1 s, as Asterisk), then the connection closes', async () => {
    const fx = await startFixture({ general: { auth_fail_delay: 1, lockout_failures: 0 } });
    const c = await fx.client();
    const sent = Date.now();
    const r = await loginAction(c, 'alice', 'wrong');
    expect(Date.now() - sent).toBeGreaterThanOrEqual(800);
    expect(r.raw).toBe(FAILED);
    await c.waitClosed();
    // Logged once, without the secret.
    const failed = logRecords(fx.logs).filter((l) => l.msg === 'login failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ user: 'alice', reason: 'secret does not match' });
    expect(fx.logs.join('')).not.toContain('wrong');
  });
});

describe('lockout', () => {
  it('lockout_failures failures lock the address out, even for the right secret; other addresses still log in', async () => {
    const fx = await startFixture({ general: { auth_fail_delay: 0, lockout_failures: 3, lockout_window: 60, lockout_time: 300 } });
    for (let i = 0; i < 3; i++) await expectFailed(await fx.client(), 'alice', `wrong-${i}`);
    await expectFailed(await fx.client(), 'alice', 'alice-secret');
    expect(logRecords(fx.logs).filter((l) => l.msg === 'address locked out after repeated failed logins')).toHaveLength(1);
    expect(logRecords(fx.logs).filter((l) => l.msg === 'login failed').at(-1)).toMatchObject({ reason: 'address locked out after repeated failed logins' });
    // Per address: 127.0.0.2 is another peer on the same loopback.
    const other = await connectTo(fx.port, fx.host, '127.0.0.2');
    expect((await loginAction(other, 'alice', 'alice-secret')).raw).toBe(ACCEPTED);
  });

  it('failures below the limit do not lock out, and a success clears the count', async () => {
    const fx = await startFixture({ general: { auth_fail_delay: 0, lockout_failures: 3 } });
    for (let i = 0; i < 2; i++) await expectFailed(await fx.client(), 'alice', 'wrong');
    expect((await loginAction(await fx.client(), 'alice', 'alice-secret')).raw).toBe(ACCEPTED);
    for (let i = 0; i < 2; i++) await expectFailed(await fx.client(), 'alice', 'wrong');
    expect((await loginAction(await fx.client(), 'alice', 'alice-secret')).raw).toBe(ACCEPTED);
  });
});

describe('lockout counts every user name, whoever logs in between', () => {
  const users: UserSpec[] = [{ name: 'alice', secret: 'alice-secret' }, { name: 'bob', secret: 'bob-secret' }];

  it('raw AMI: logging in as yourself after each 4 guesses at another user does not reset the count', async () => {
    const fx = await startFixture({ users, general: { auth_fail_delay: 0, lockout_failures: 5, lockout_window: 60, lockout_time: 300 } });
    for (let i = 0; i < 4; i++) await expectFailed(await fx.client(), 'bob', `guess-${i}`);
    const own = await fx.client();
    expect((await loginAction(own, 'alice', 'alice-secret')).raw).toBe(ACCEPTED);
    await own.close();
    await expectFailed(await fx.client(), 'bob', 'guess-4'); // the fifth guess at bob: locks the address
    expect(logRecords(fx.logs).filter((l) => l.msg === 'address locked out after repeated failed logins')).toHaveLength(1);
    await expectFailed(await fx.client(), 'bob', 'bob-secret');
    await expectFailed(await fx.client(), 'alice', 'alice-secret');
    // A user who mistyped and then got it right keeps no penalty: only its own failures are cleared.
    const other = await connectTo(fx.port, fx.host, '127.0.0.2');
    expect((await loginAction(other, 'bob', 'bob-secret')).raw).toBe(ACCEPTED);
  });

  it('HTTP Basic: the same bypass is closed, and malformed credentials count as failures', async () => {
    const h = await startHttpFixture({ users, general: { auth_fail_delay: 0, lockout_failures: 5, lockout_window: 60, lockout_time: 300 } });
    const ping = (authorization: string) => h.get('/rawman?Action=Ping', { headers: { Authorization: authorization } });
    expect((await ping('Basic !!!not-base64')).status).toBe(401);
    expect((await ping('Bearer abc')).status).toBe(401);
    expect((await ping(h.basic('alice'))).status).toBe(200);
    expect((await ping(h.basic('bob', 'guess-1'))).status).toBe(401);
    expect((await ping(h.basic('alice'))).status).toBe(200);
    expect((await ping(h.basic('bob', 'guess-2'))).status).toBe(401);
    expect((await ping(h.basic('alice'))).status).toBe(200);
    expect((await ping(h.basic('bob', 'guess-3'))).status).toBe(401); // the fifth failure
    expect((await ping(h.basic('bob'))).status).toBe(401);
    expect((await ping(h.basic('alice'))).status).toBe(401);
    const failed = logRecords(h.fx.logs).filter((l) => l.msg === 'login failed');
    expect(failed.at(-1)).toMatchObject({ reason: 'address locked out after repeated failed logins' });
    expect(failed.filter((l) => /Malformed|Unsupported/.test(String(l.reason)))).toHaveLength(2);
    // The event stream runs the same check.
    const sse = await h.get('/events', { headers: { Authorization: h.basic('alice') } });
    expect(sse.status).toBe(401);
  });

  it('lockout_user_failures: guesses at one user from many addresses lock that name, except where it logged in before', async () => {
    const fx = await startFixture({ users, general: { auth_fail_delay: 0, lockout_failures: 0, lockout_user_failures: 3, lockout_window: 60, lockout_time: 300 } });
    expect((await loginAction(await fx.client(), 'bob', 'bob-secret')).raw).toBe(ACCEPTED); // from 127.0.0.1
    for (const from of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) await expectFailed(await connectTo(fx.port, fx.host, from), 'bob', 'guess');
    expect(logRecords(fx.logs).filter((l) => l.msg === 'user name locked out after repeated failed logins')).toHaveLength(1);
    await expectFailed(await connectTo(fx.port, fx.host, '127.0.0.5'), 'bob', 'bob-secret');
    expect(logRecords(fx.logs).filter((l) => l.msg === 'login failed').at(-1)).toMatchObject({ reason: 'user locked out after repeated failed logins' });
    // Another user from there, and bob from where he logged in before, are not affected.
    expect((await loginAction(await connectTo(fx.port, fx.host, '127.0.0.5'), 'alice', 'alice-secret')).raw).toBe(ACCEPTED);
    expect((await loginAction(await fx.client(), 'bob', 'bob-secret')).raw).toBe(ACCEPTED);
  });
});

describe('unauthenticated connections', () => {
  it('authtimeout closes a connection that has not logged in, even mid-action; logged-in ones stay', async () => {
    const fx = await startFixture({ general: { authtimeout: 0.5 } });
    const idle = await fx.client('idle');
    const partial = await fx.client('partial');
    partial.send('Action: Login\r\nUsername: alice\r\n');
    const ok = await fx.loggedIn('alice');
    await idle.waitClosed(3000);
    await partial.waitClosed(3000);
    expect(idle.messages).toEqual([]);
    expect(partial.messages).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    expect(ok.isOpen).toBe(true);
    expect(header(await ok.action([['Action', 'Ping'], ['ActionID', 'p']]), 'Response')).toBe('Success');
  });

  it('authlimit caps the connections waiting to log in; a login frees a place', async () => {
    const fx = await startFixture({ general: { authlimit: 2 } });
    const first = await fx.client('first');
    await fx.client('second');
    const refused = net.connect({ host: fx.host, port: fx.port });
    const got: Buffer[] = [];
    refused.on('data', (b: Buffer) => got.push(b));
    refused.on('error', () => undefined);
    await new Promise<void>((resolve) => refused.once('close', () => resolve()));
    expect(Buffer.concat(got).length).toBe(0);
    expect(fx.proxy.hub.counters.refusedConnections).toBe(1);
    await first.login('alice', 'alice-secret');
    const third = await fx.client('third');
    await third.login('alice', 'alice-secret');
  });
});

/** Whether this host can listen on ::1. */
async function ipv6Loopback(): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

const HAS_IPV6 = await ipv6Loopback();

describe('user permit/deny', () => {
  const users: UserSpec[] = [
    { name: 'v4', lines: ['permit = 127.0.0.0/8'] },
    { name: 'v6', lines: ['permit = ::1/128'] },
    // Most specific wins: all of 127/8 but 127.0.0.1.
    { name: 'not1', lines: ['deny = 127.0.0.1/32', 'permit = 127.0.0.0/8', 'permit = ::1'] },
  ];

  it('over 127.0.0.1', async () => {
    const fx = await startFixture({ users, general: { auth_fail_delay: 0, lockout_failures: 0 } });
    expect((await loginAction(await fx.client(), 'v4', 'v4-secret')).raw).toBe(ACCEPTED);
    await expectFailed(await fx.client(), 'v6', 'v6-secret');
    await expectFailed(await fx.client(), 'not1', 'not1-secret');
    expect((await loginAction(await connectTo(fx.port, fx.host, '127.0.0.2'), 'not1', 'not1-secret')).raw).toBe(ACCEPTED);
    const reasons = logRecords(fx.logs).filter((l) => l.msg === 'login failed').map((l) => l.reason);
    expect(reasons).toEqual(['address not permitted for this user (permit/deny)', 'address not permitted for this user (permit/deny)']);
  });

  it.skipIf(!HAS_IPV6)('over ::1', async () => {
    const fx = await startFixture({ users, general: { auth_fail_delay: 0, lockout_failures: 0 }, listeners: [{ name: 'v6', format: 'standard', listen: '[::1]:0' }] });
    const v6 = fx.proxy.listeners[1]!;
    expect(v6.host).toBe('::1');
    expect((await loginAction(await connectTo(v6.port, '::1'), 'v6', 'v6-secret')).raw).toBe(ACCEPTED);
    expect((await loginAction(await connectTo(v6.port, '::1'), 'not1', 'not1-secret')).raw).toBe(ACCEPTED);
    await expectFailed(await connectTo(v6.port, '::1'), 'v4', 'v4-secret');
  });
});
