/**
 * Every refusal over HTTP has its real status and a body in the requested format saying why
 * (an AMI-style `Response: Error` / `Message: …`), is logged once, and disturbs nobody else.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { header } from './helpers/ami-test-client.js';
import { amiMessages, hv, startHttpFixture, type HttpResult } from './helpers/http-fixture.js';
import { stopAllFixtures, waitUntil } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

/** The single `Response: Error` message of a raw AMI body. */
function errorOf(r: HttpResult): string {
  const msgs = amiMessages(r.body);
  expect(msgs).toHaveLength(1);
  expect(hv(msgs[0]!, 'Response')).toBe('Error');
  return hv(msgs[0]!, 'Message') ?? '';
}

describe('401: credentials', () => {
  it('no credentials: 401 with WWW-Authenticate: Basic realm="amiplex"', async () => {
    const h = await startHttpFixture();
    const r = await h.get('/rawman?Action=Ping&ActionID=p');
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Basic realm="amiplex"');
    expect(r.body).toMatch(/^Response: Error\r\nActionID: p\r\nMessage: Permission denied: log in/);
  });

  it('a wrong secret or an unknown user: 401 Authentication failed, after auth_fail_delay, counted', async () => {
    const h = await startHttpFixture({ general: { auth_fail_delay: 0.3 } });
    const t0 = Date.now();
    const r = await h.get('/rawman?Action=Ping', { auth: 'alice', secret: 'wrong' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Basic realm="amiplex"');
    expect(errorOf(r)).toBe('Authentication failed');
    const nobody = await h.get('/rawman?Action=Ping', { auth: 'mallory' });
    expect(nobody.status).toBe(401);
    expect(h.fx.proxy.hub.counters.failedLogins).toBe(2);
    // The secret is never logged.
    expect(h.fx.logs.join('')).not.toContain('wrong');
    expect(h.fx.logs.filter((l) => l.includes('login failed'))).toHaveLength(2);
  });

  it('another scheme or malformed Basic credentials: 401', async () => {
    const h = await startHttpFixture({ general: { auth_fail_delay: 0 } });
    for (const auth of ['Bearer abc', 'Basic !!!', 'Basic ' + Buffer.from('nocolon').toString('base64')]) {
      const r = await h.get('/rawman?Action=Ping', { headers: { Authorization: auth } });
      expect(r.status, auth).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Basic realm="amiplex"');
    }
  });
});

describe('403, 400: what the user asks for', () => {
  it('a server the user may not use: 403, in the requested format', async () => {
    const h = await startHttpFixture({
      pbxes: [{ name: 'pbx1' }, { name: 'pbx2' }],
      users: [{ name: 'alice' }, { name: 'bob', servers: ['pbx2'] }],
    });
    const r = await h.get('/rawman?Action=Ping&Server=pbx1&ActionID=x', { auth: 'bob' });
    expect(r.status).toBe(403);
    expect(r.body).toBe('Response: Error\r\nActionID: x\r\nMessage: Permission denied for server pbx1\r\n\r\n');
    const j = await h.get('/json?Action=Ping&Server=pbx1', { auth: 'bob' });
    expect(j.status).toBe(403);
    expect(JSON.parse(j.body)).toEqual([{ Response: 'Error', Message: 'Permission denied for server pbx1' }]);
    // bob's own server works.
    expect((await h.get('/rawman?Action=Ping', { auth: 'bob' })).status).toBe(200);
  });

  it('400 for an unknown server, a missing Action, a bad timeout, a header-splitting value; none reaches the PBX', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', scripted: {} }] });
    const cases: Array<[string, RegExp]> = [
      ['/rawman?Action=Ping&Server=nowhere', /^Unknown server: nowhere$/],
      ['/rawman?ActionID=x', /^Missing action in request$/],
      ['/rawman?Action=Ping&timeout=-1', /^timeout= must be/],
      ['/rawman?Action=Ping&X=a%0D%0AAction:%20Hangup', /CR, LF or NUL/],
      ['/action?Action=Ping&format=yaml', /^Unknown format: yaml/],
      ['/rawman?Action=Challenge&AuthType=MD5', /Challenge \(MD5 login\) is not available over HTTP/],
      ['/rawman?Action=WaitEvent', /WaitEvent needs a login session/],
    ];
    for (const [path, message] of cases) {
      const r = await h.get(path, { auth: 'alice' });
      expect(r.status, path).toBe(400);
      expect(errorOf(r), path).toMatch(message);
    }
    // The PBX saw its login, and nothing of these requests.
    expect(h.fx.pbx('pbx1').scripted!.actions.map((a) => a.headers[0]![1])).toEqual(['Login']);
  });

  it('/mxml errors are XML', async () => {
    const h = await startHttpFixture();
    const r = await h.get('/mxml?Action=Ping&Server=nowhere', { auth: 'alice' });
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toMatch(/^text\/xml/);
    expect(r.body).toContain('response="Error"');
    expect(r.body).toContain('message="Unknown server: nowhere"');
  });
});

describe('404, 405, 413, 414, 415: the request itself', () => {
  it('an unknown path without an Action: 404, in the format Accept asks for; logged once', async () => {
    const h = await startHttpFixture();
    const r = await h.get('/manager?Ping=1', { auth: 'alice', headers: { Accept: 'application/json' } });
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body)).toEqual([{ Response: 'Error', Message: expect.stringMatching(/^No such path: \/manager/) }]);
    expect(h.fx.logs.filter((l) => l.includes('"status":404'))).toHaveLength(1);
  });

  it('another method: 405 with Allow', async () => {
    const h = await startHttpFixture();
    for (const method of ['PUT', 'DELETE', 'PATCH', 'HEAD']) {
      const r = await h.request('/rawman?Action=Ping', { method, auth: 'alice' });
      expect(r.status, method).toBe(405);
      expect(r.headers.allow).toBe('GET, POST, OPTIONS');
    }
    const sse = await h.request('/events', { method: 'POST', auth: 'alice' });
    expect(sse.status).toBe(405);
    expect(sse.headers.allow).toBe('GET, OPTIONS');
  });

  it('a body over http_max_body: 413; at exactly the limit it runs', async () => {
    const h = await startHttpFixture({ general: { http_max_body: '1K' } });
    const base = 'Action=Ping&ActionID=big&X=';
    const over = await h.post('/rawman', base + 'a'.repeat(1025 - base.length), { auth: 'alice' });
    expect(over.status).toBe(413);
    expect(errorOf(over)).toBe('Request body over http_max_body (1024 bytes)');
    const at = await h.post('/rawman', base + 'a'.repeat(1024 - base.length - 20), { auth: 'alice' });
    expect(at.status).toBe(200);
    // Without Content-Length (chunked), the limit holds too.
    const chunked = await h.request('/rawman', {
      method: 'POST',
      auth: 'alice',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Transfer-Encoding': 'chunked' },
      body: base + 'b'.repeat(2000),
    });
    expect(chunked.status).toBe(413);
  });

  it('a URL over http_max_url: 414', async () => {
    const h = await startHttpFixture({ general: { http_max_url: 256 } });
    const r = await h.get(`/rawman?Action=Ping&X=${'a'.repeat(300)}`, { auth: 'alice' });
    expect(r.status).toBe(414);
    expect(errorOf(r)).toBe('Request URL over http_max_url (256 bytes)');
    expect((await h.get('/rawman?Action=Ping', { auth: 'alice' })).status).toBe(200);
  });

  it('a URL far over node\'s header limit (1 MB, at once or in pieces): still 414 with its reason, read to the end, no reset', async () => {
    const h = await startHttpFixture();
    const auth = `Authorization: Basic ${Buffer.from('alice:alice-secret').toString('base64')}\r\n`;
    const huge = `GET /rawman?Action=Ping&X=${'a'.repeat(1024 * 1024)} HTTP/1.1\r\nHost: x\r\n${auth}\r\n`;
    const whole = await rawExchange(h.port, [huge]);
    expect(whole.error).toBeUndefined();
    expect(whole.text).toMatch(/^HTTP\/1\.1 414 URI Too Long\r\n/);
    expect(whole.text).toContain('Connection: close');
    expect(whole.text.endsWith('\r\n\r\nRequest URL over http_max_url (8192 bytes)\n')).toBe(true);
    // The same URL dripping in: the answer comes as soon as node gives up.
    const pieces = Array.from({ length: 40 }, (_, i) => huge.slice(i * 1000, (i + 1) * 1000));
    const dripped = await rawExchange(h.port, pieces);
    expect(dripped.text).toMatch(/^HTTP\/1\.1 414 /);
    // On a kept-alive connection, once a first request is answered.
    const second = await rawExchange(h.port, [`GET /rawman?Action=Ping HTTP/1.1\r\nHost: x\r\n${auth}\r\n`, huge], 500);
    expect(second.text).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*HTTP\/1\.1 414 /);
    // Headers too large with a short URL remain 431.
    const cookie = await rawExchange(h.port, [`GET /rawman?Action=Ping HTTP/1.1\r\nHost: x\r\nCookie: ${'c'.repeat(40_000)}\r\n\r\n`]);
    expect(cookie.text).toMatch(/^HTTP\/1\.1 431 /);
    // Nothing else was disturbed.
    expect((await h.get('/rawman?Action=Ping', { auth: 'alice' })).status).toBe(200);
  });

  it('a POST body that is not a form: 415', async () => {
    const h = await startHttpFixture();
    const r = await h.request('/rawman', { method: 'POST', auth: 'alice', headers: { 'Content-Type': 'application/json' }, body: '{"Action":"Ping"}' });
    expect(r.status).toBe(415);
    expect(errorOf(r)).toMatch(/application\/x-www-form-urlencoded/);
  });
});

describe('502, 503, 504: the PBX', () => {
  it('PBX down: 502 naming it', async () => {
    const h = await startHttpFixture();
    await h.fx.pbx('pbx1').stop();
    const slot = h.fx.proxy.hub.servers.get('pbx1')!;
    await waitUntil(() => slot.session.state !== 'up', 3000, 'pbx1 to be down');
    const r = await h.get('/rawman?Action=Ping&ActionID=down', { auth: 'alice' });
    expect(r.status).toBe(502);
    expect(errorOf(r)).toMatch(/^Server pbx1 is not connected/);
  });

  it('the PBX goes away while the request waits: 502 with what had come', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', scripted: {} }] });
    const pending = h.get('/rawman?Action=CoreShowChannels&ActionID=w', { auth: 'alice' });
    await h.fx.pbx('pbx1').scripted!.waitForAction('CoreShowChannels');
    await h.fx.pbx('pbx1').stop();
    const r = await pending;
    expect(r.status).toBe(502);
    expect(errorOf(r)).toMatch(/^Server pbx1 disconnected/);
  });

  it('a silent PBX: 504 after timeout=, and after action_timeout otherwise', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', scripted: {}, server: { action_timeout: 0.6 } }] });
    const t0 = Date.now();
    const r = await h.get('/rawman?Action=CoreShowChannels&ActionID=slow&timeout=0.3', { auth: 'alice' });
    const took = Date.now() - t0;
    expect(r.status).toBe(504);
    expect(errorOf(r)).toBe('Timeout: no complete answer from server pbx1 within 0.3 s');
    expect(took).toBeGreaterThanOrEqual(280);
    expect(took).toBeLessThan(1000);
    const byRouter = await h.get('/rawman?Action=CoreShowChannels&ActionID=slow2', { auth: 'alice' });
    expect(byRouter.status).toBe(504);
    expect(errorOf(byRouter)).toMatch(/^Timeout: server pbx1 did not answer CoreShowChannels within 0.6 s/);
  });

  it('too many actions in flight on the PBX: 503', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', scripted: {}, server: { max_pending: 1 } }] });
    const first = h.get('/rawman?Action=CoreShowChannels&timeout=1', { auth: 'alice' });
    await h.fx.pbx('pbx1').scripted!.waitForAction('CoreShowChannels');
    const second = await h.get('/rawman?Action=CoreShowChannels', { auth: 'alice' });
    expect(second.status).toBe(503);
    expect(errorOf(second)).toBe('Too many actions in flight on server pbx1');
    expect((await first).status).toBe(504);
  });
});

/** Writes `parts` (`gapMs` apart) on a new connection and reads until it closes: what came back, and any socket error. */
function rawExchange(port: number, parts: string[], gapMs = 5): Promise<{ text: string; error: string | undefined }> {
  return new Promise((resolve) => {
    let text = '';
    let error: string | undefined;
    const s = net.connect(port, '127.0.0.1', () => {
      void (async () => {
        for (const p of parts) {
          if (s.destroyed) return;
          s.write(p);
          if (parts.length > 1) await new Promise((r) => setTimeout(r, gapMs));
        }
      })();
    });
    s.on('data', (d) => (text += d.toString('latin1')));
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
    s.on('close', () => resolve({ text, error }));
    setTimeout(() => s.destroy(), 8000).unref();
  });
}

describe('bad input disturbs nobody', () => {
  it('garbage, oversized and refused requests leave raw TCP clients and other HTTP clients served', async () => {
    const h = await startHttpFixture({ general: { http_max_url: 256 } });
    const tcp = await h.fx.loggedIn('alice', 'off');
    // Not HTTP at all: answered 400 by the listener and closed.
    const junk = await new Promise<string>((resolve) => {
      const s = net.connect(h.port, h.host, () => s.write('\x00\x01 NOT HTTP\r\n\r\n'));
      let got = '';
      s.on('data', (d) => (got += d.toString('latin1')));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    expect(junk).toMatch(/^HTTP\/1\.1 400/);
    await Promise.all([
      h.get('/nowhere'),
      h.get(`/rawman?${'x'.repeat(400)}`),
      h.get('/rawman?Action=Ping', { auth: 'alice', secret: 'bad' }),
      h.request('/rawman', { method: 'DELETE' }),
    ]);
    const pong = await tcp.action([['Action', 'Ping'], ['ActionID', 'still']]);
    expect(header(pong, 'Ping')).toBe('Pong');
    expect((await h.get('/rawman?Action=Ping', { auth: 'alice' })).status).toBe(200);
    expect(h.fx.logs.filter((l) => l.includes('malformed http request'))).toHaveLength(1);
  });
});

describe('shutdown', () => {
  it('stopping amiplex answers waiting requests (502), ends event streams and polls, and closes promptly', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', scripted: {} }] });
    const stream = await h.sse('/events', { auth: 'alice' });
    const login = await h.get('/rawman?Action=Login&Username=alice&Secret=alice-secret');
    const poll = h.get('/rawman?Action=WaitEvent&Timeout=30', { cookie: login.headers['set-cookie']![0]!.split(';')[0]! });
    const pending = h.get('/rawman?Action=CoreShowChannels&ActionID=late', { auth: 'alice' });
    await h.fx.pbx('pbx1').scripted!.waitForAction('CoreShowChannels');
    const t0 = Date.now();
    await h.fx.proxy.stop();
    expect(Date.now() - t0).toBeLessThan(2500);
    const r = await pending;
    expect(r.status).toBe(502);
    expect(errorOf(r)).toMatch(/pbx1/);
    expect(hv(amiMessages((await poll).body).at(-1)!, 'Event')).toBe('WaitEventComplete');
    await stream.waitFor(() => stream.ended, 1000, 'the stream to end');
    await expect(h.get('/rawman?Action=Ping', { auth: 'alice' })).rejects.toThrow();
  });
});
