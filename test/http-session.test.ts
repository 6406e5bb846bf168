/**
 * AJAM-style login over HTTP: `Action=Login` answers the login response and sets the
 * `mansession_id` cookie that later requests use; Logoff ends it; an idle session expires;
 * the WaitEvent long poll returns the session's events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { amiMessages, hv, sessionCookieOf, startHttpFixture } from './helpers/http-fixture.js';
import { stopAllFixtures } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

describe('the mansession_id cookie', () => {
  it('Login sets it; later requests use it and refresh it; Logoff ends it; then 401', async () => {
    const h = await startHttpFixture({ general: { http_session_timeout: 60 } });
    const login = await h.get('/rawman?Action=Login&Username=alice&Secret=alice-secret&ActionID=l');
    expect(login.status).toBe(200);
    expect(login.body).toBe('Response: Success\r\nActionID: l\r\nMessage: Authentication accepted\r\n\r\n');
    const setCookie = login.headers['set-cookie']![0]!;
    expect(setCookie).toMatch(/^mansession_id="[0-9a-f]{32}"; Version=1; Max-Age=60; Path=\/; HttpOnly; SameSite=Strict$/);
    const cookie = sessionCookieOf(login);

    const ping = await h.get('/rawman?Action=Ping&ActionID=h1', { cookie });
    expect(ping.status).toBe(200);
    expect(ping.body).toMatch(/^Response: Success\r\nActionID: h1\r\nPing: Pong\r\n/);
    expect(ping.headers['set-cookie']![0]).toBe(setCookie);

    const bye = await h.get('/rawman?Action=Logoff', { cookie });
    expect(bye.status).toBe(200);
    expect(bye.body).toBe('Response: Goodbye\r\nMessage: Thanks for all the fish.\r\n\r\n');
    expect(bye.headers['set-cookie']![0]).toMatch(/^mansession_id=""; .*Max-Age=0/);

    const after = await h.get('/rawman?Action=Ping', { cookie });
    expect(after.status).toBe(401);
    expect(after.headers['www-authenticate']).toBe('Basic realm="amiplex"');
    expect(hv(amiMessages(after.body)[0]!, 'Message')).toMatch(/expired or is unknown/);
  });

  it('a cookie session works as a POST form too, and in any output format', async () => {
    const h = await startHttpFixture();
    const login = await h.post('/mxml', 'Action=Login&Username=alice&Secret=alice-secret');
    expect(login.status).toBe(200);
    expect(login.body).toContain('message="Authentication accepted"');
    const cookie = sessionCookieOf(login);
    const r = await h.post('/json', 'Action=Ping', { cookie });
    expect((JSON.parse(r.body) as Array<{ Ping: string }>)[0]!.Ping).toBe('Pong');
  });

  it('a failed Login: 401 Authentication failed, no cookie', async () => {
    const h = await startHttpFixture({ general: { auth_fail_delay: 0.1 } });
    const r = await h.get('/rawman?Action=Login&Username=alice&Secret=nope');
    expect(r.status).toBe(401);
    expect(r.body).toBe('Response: Error\r\nMessage: Authentication failed\r\n\r\n');
    expect(r.headers['set-cookie']).toBeUndefined();
    expect(h.fx.logs.join('')).not.toContain('nope');
  });

  it('a session idle for http_session_timeout expires (401); one in use stays', async () => {
    const h = await startHttpFixture({ general: { http_session_timeout: 0.6 } });
    const idle = sessionCookieOf(await h.get('/rawman?Action=Login&Username=alice&Secret=alice-secret'));
    const busy = sessionCookieOf(await h.get('/rawman?Action=Login&Username=alice&Secret=alice-secret'));
    expect(idle).not.toBe(busy);
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 250));
      expect((await h.get('/rawman?Action=Ping', { cookie: busy })).status).toBe(200);
    }
    const r = await h.get('/rawman?Action=Ping', { cookie: idle });
    expect(r.status).toBe(401);
    expect(hv(amiMessages(r.body)[0]!, 'Message')).toMatch(/expired/);
  });

  it('HTTP Basic wins over a stale cookie', async () => {
    const h = await startHttpFixture();
    const r = await h.get('/rawman?Action=Ping', { auth: 'alice', cookie: 'mansession_id="deadbeef"' });
    expect(r.status).toBe(200);
  });
});

describe('WaitEvent', () => {
  it('returns at once with the events queued since login, shaped as capture 14', async () => {
    const h = await startHttpFixture();
    const cookie = sessionCookieOf(await h.get('/rawman?Action=Login&Username=alice&Secret=alice-secret'));
    expect((await h.get('/rawman?Action=UserEvent&UserEvent=Queued&Seq=1', { auth: 'alice' })).status).toBe(200);
    expect((await h.get('/rawman?Action=UserEvent&UserEvent=Queued&Seq=2', { auth: 'alice' })).status).toBe(200);
    // Wait until both reached the session's queue (they come from the PBX after the responses).
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    const r = await h.get('/rawman?Action=WaitEvent&Timeout=5&ActionID=we', { cookie });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(r.status).toBe(200);
    const msgs = amiMessages(r.body);
    expect(msgs[0]!.headers).toEqual([['Response', 'Success'], ['ActionID', 'we'], ['Message', 'Waiting for Event completed.']]);
    const events = msgs.slice(1, -1);
    expect(events.map((m) => [hv(m, 'Event'), hv(m, 'UserEvent'), hv(m, 'Seq'), hv(m, 'Server')])).toEqual([
      ['UserEvent', 'Queued', '1', 'pbx1'],
      ['UserEvent', 'Queued', '2', 'pbx1'],
    ]);
    // Another session's ActionID never shows.
    for (const e of events) expect(hv(e, 'ActionID')).toBeUndefined();
    expect(msgs.at(-1)!.headers).toEqual([['Event', 'WaitEventComplete'], ['ActionID', 'we']]);
    // The queue is empty now: the next poll waits.
    const empty = await h.get('/rawman?Action=WaitEvent&Timeout=0.3', { cookie });
    expect(amiMessages(empty.body).map((m) => hv(m, 'Event') ?? hv(m, 'Response'))).toEqual(['Success', 'WaitEventComplete']);
  });

  it('waits for the next event, and answers as soon as it comes', async () => {
    const h = await startHttpFixture();
    const cookie = sessionCookieOf(await h.get('/rawman?Action=Login&Username=alice&Secret=alice-secret'));
    const t0 = Date.now();
    const poll = h.get('/rawman?Action=WaitEvent&Timeout=10', { cookie });
    await new Promise((r) => setTimeout(r, 300));
    await h.get('/rawman?Action=UserEvent&UserEvent=Wake', { auth: 'alice' });
    const r = await poll;
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2000);
    const msgs = amiMessages(r.body);
    expect(msgs.slice(1, -1).map((m) => hv(m, 'UserEvent'))).toEqual(['Wake']);
  });

  it('answers empty after Timeout seconds when nothing comes', async () => {
    const h = await startHttpFixture();
    const cookie = sessionCookieOf(await h.get('/rawman?Action=Login&Username=alice&Secret=alice-secret'));
    const t0 = Date.now();
    const r = await h.get('/rawman?Action=WaitEvent&Timeout=1&ActionID=t', { cookie });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(r.body).toBe(
      'Response: Success\r\nActionID: t\r\nMessage: Waiting for Event completed.\r\n\r\nEvent: WaitEventComplete\r\nActionID: t\r\n\r\n',
    );
  });

  it('a session queues only the events of its user\'s servers, and Events=off at Login queues none', async () => {
    const h = await startHttpFixture({
      pbxes: [{ name: 'pbx1' }, { name: 'pbx2' }],
      users: [{ name: 'alice' }, { name: 'bob', servers: ['pbx2'] }],
    });
    const bob = sessionCookieOf(await h.get('/rawman?Action=Login&Username=bob&Secret=bob-secret'));
    const quiet = sessionCookieOf(await h.get('/rawman?Action=Login&Username=alice&Secret=alice-secret&Events=off'));
    await h.get('/rawman?Action=UserEvent&UserEvent=One&Server=pbx1', { auth: 'alice' });
    await h.get('/rawman?Action=UserEvent&UserEvent=Two&Server=pbx2', { auth: 'alice' });
    await new Promise((r) => setTimeout(r, 100));
    const r = await h.get('/rawman?Action=WaitEvent&Timeout=0.2', { cookie: bob });
    expect(amiMessages(r.body).slice(1, -1).map((m) => [hv(m, 'UserEvent'), hv(m, 'Server')])).toEqual([['Two', 'pbx2']]);
    const q = await h.get('/rawman?Action=WaitEvent&Timeout=0.2', { cookie: quiet });
    expect(amiMessages(q.body)).toHaveLength(2);
  });

  it('Logoff answers a waiting poll of the same session', async () => {
    const h = await startHttpFixture();
    const cookie = sessionCookieOf(await h.get('/rawman?Action=Login&Username=alice&Secret=alice-secret'));
    const t0 = Date.now();
    const poll = h.get('/rawman?Action=WaitEvent&Timeout=20', { cookie });
    await new Promise((r) => setTimeout(r, 100));
    expect((await h.get('/rawman?Action=Logoff', { cookie })).status).toBe(200);
    const r = await poll;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(hv(amiMessages(r.body).at(-1)!, 'Event')).toBe('WaitEventComplete');
  });
});
