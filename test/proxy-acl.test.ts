/**
 * Who may connect: the permit/deny of the listeners, checked on the bare connection before
 * anything is read or written — [general] for its listen, listen_tls, http and https
 * listeners, a [listener NAME]'s own for it — over 127.0.0.1 and ::1, and applied live after
 * a reload.
 */
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type HostPort } from '../src/config/index.js';
import { AmiTestClient, header } from './helpers/ami-test-client.js';
import { startFixture, stopAllFixtures, waitUntil, type FixtureOptions, type ProxyFixture } from './helpers/proxy-fixture.js';
import { parsePrometheusText, valueOf } from './helpers/prometheus-text.js';
import { makeTestPki } from './helpers/test-certs.js';

const pki = makeTestPki();
afterAll(() => pki.remove());
afterEach(stopAllFixtures);

let ipv6 = false;
beforeAll(async () => {
  ipv6 = await new Promise<boolean>((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
});

interface Outcome {
  /** What the listener wrote before the connection closed (or within the wait). */
  readonly data: string;
  readonly closed: boolean;
}

/** Connects, sends nothing, and reads for up to `ms` or until closed. */
function probe(address: HostPort, ms = 1500): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address.host, port: address.port });
    let data = '';
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      if (data.includes('\n')) finish(false);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true));
    const timer = setTimeout(() => finish(false), ms);
    function finish(closed: boolean) {
      clearTimeout(timer);
      socket.destroy();
      resolve({ data, closed });
    }
  });
}

const BANNER = /^Asterisk Call Manager\/\S+\r\n$/;

function refusals(fx: ProxyFixture): Record<string, unknown>[] {
  return fx.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'connection refused: address not allowed (permit/deny)');
}

async function deniedTotal(fx: ProxyFixture): Promise<number> {
  return valueOf(parsePrometheusText(await fx.proxy.metrics.text()), 'amiplex_connections_denied_total');
}

async function acl(general: FixtureOptions['general'], listeners: FixtureOptions['listeners'] = []): Promise<ProxyFixture> {
  return startFixture({ general, listeners });
}

describe('[general] permit / deny on raw AMI', () => {
  it('a denied address is closed before the banner, logged once with its address, and counted', async () => {
    const fx = await acl({ deny: '127.0.0.1' });
    const out = await probe({ host: fx.host, port: fx.port });
    expect(out).toEqual({ data: '', closed: true });
    await waitUntil(() => refusals(fx).length === 1, 1000, 'the refusal logged');
    expect(refusals(fx)[0]).toMatchObject({ level: 30, remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/), listener: `127.0.0.1:${fx.port}` });
    expect(fx.proxy.hub.counters.aclRefusedConnections).toBe(1);
    expect(fx.proxy.hub.counters.clientsConnected).toBe(0);
    expect(await deniedTotal(fx)).toBe(1);
  });

  it('a burst of refusals is counted in full but logged at most once a second, saying how many it did not log', async () => {
    const fx = await acl({ deny: '127.0.0.1' });
    for (let i = 0; i < 5; i++) expect(await probe({ host: fx.host, port: fx.port })).toEqual({ data: '', closed: true });
    expect(await deniedTotal(fx)).toBe(5);
    expect(refusals(fx)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1100));
    await probe({ host: fx.host, port: fx.port });
    await waitUntil(() => refusals(fx).length === 2, 1000, 'the next refusal logged');
    // The four of the first second that were not logged.
    expect(refusals(fx)[1]).toMatchObject({ notLogged: 4 });
  });

  it('the most specific line decides: deny everything, permit 127.0.0.1', async () => {
    const fx = await acl({ deny: '0.0.0.0/0', permit: ['127.0.0.1/32', '10.0.0.0/8'] });
    const out = await probe({ host: fx.host, port: fx.port });
    expect(out.data).toMatch(BANNER);
    const c = await fx.loggedIn('alice');
    expect(header(await c.action([['Action', 'Ping']]), 'Response')).toBe('Success');
    expect(fx.proxy.hub.counters.aclRefusedConnections).toBe(0);
  });

  it('with a permit, an address no line matches is refused', async () => {
    const fx = await acl({ permit: '10.0.0.0/8' });
    expect(await probe({ host: fx.host, port: fx.port })).toEqual({ data: '', closed: true });
  });

  it('over IPv6 (::1): denied, then permitted by a more specific line', async (ctx) => {
    if (!ipv6) ctx.skip();
    const denied = await acl({ listen: '[::1]:0', deny: '::/0', permit: '127.0.0.1' });
    expect(await probe({ host: '::1', port: denied.port })).toEqual({ data: '', closed: true });
    expect(refusals(denied)[0]).toMatchObject({ remote: expect.stringMatching(/^::1:\d+$/) });
    const permitted = await acl({ listen: '[::1]:0', deny: '::/0', permit: '::1/128' });
    expect((await probe({ host: '::1', port: permitted.port })).data).toMatch(BANNER);
  });

  it('an IPv4 client of a dual-stack listener ([::]) is matched as IPv4', async (ctx) => {
    if (!ipv6) ctx.skip();
    const fx = await acl({ listen: '[::]:0', deny: '127.0.0.1' });
    expect(await probe({ host: '127.0.0.1', port: fx.port })).toEqual({ data: '', closed: true });
    expect(refusals(fx)[0]).toMatchObject({ remote: expect.stringMatching(/^::ffff:127\.0\.0\.1:\d+$/) });
    expect((await probe({ host: '::1', port: fx.port })).data).toMatch(BANNER);
  });

  it('applies to listen_tls before the TLS handshake', async () => {
    const fx = await acl({ listen_tls: '127.0.0.1:0', tls_cert: pki.server.certFile, tls_key: pki.server.keyFile, deny: '127.0.0.0/8' });
    const { host, port } = fx.proxy.tls[0]!;
    const attempt = await new Promise<{ handshake: boolean; data: string }>((resolve) => {
      const socket = tls.connect({ host, port, ca: pki.ca.cert, servername: 'localhost' });
      let handshake = false;
      let data = '';
      socket.on('secureConnect', () => (handshake = true));
      socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve({ handshake, data }));
    });
    expect(attempt).toEqual({ handshake: false, data: '' });
    await waitUntil(() => refusals(fx).length === 1, 1000, 'the refusal logged');
    const msgs = fx.logs.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).not.toContain('TLS connection refused');
  });
});

describe('[listener NAME] permit / deny', () => {
  it('a [listener] follows its own lines only, not those of [general]', async () => {
    const fx = await acl({ deny: '127.0.0.1' }, [
      { name: 'open', format: 'standard' },
      { name: 'closed', settings: { deny: '127.0.0.0/8', permit: '10.1.0.0/16' } },
    ]);
    const [general, open, closed] = fx.proxy.listeners;
    expect(await probe(general!)).toEqual({ data: '', closed: true });
    expect((await probe(open!)).data).toMatch(BANNER);
    expect(await probe(closed!)).toEqual({ data: '', closed: true });
    await waitUntil(() => refusals(fx).length === 2, 1000, 'two refusals logged');
    expect(refusals(fx).map((l) => l.listener)).toEqual([`127.0.0.1:${general!.port}`, 'closed']);
    const c = await AmiTestClient.connect(open!.port, open!.host);
    expect(header(await c.login('alice', 'alice-secret'), 'Response')).toBe('Success');
    await c.close();
  });
});

describe('HTTP', () => {
  it('an address [general] denies gets no HTTP answer: the connection is closed unread', async () => {
    const fx = await acl({ http: '127.0.0.1:0', deny: '127.0.0.1' });
    const address = fx.proxy.http[0]!;
    const err = await new Promise<Error>((resolve, reject) => {
      const req = http.get({ host: address.host, port: address.port, path: '/rawman?Action=Ping', agent: false }, () => reject(new Error('answered')));
      req.on('error', resolve);
    });
    expect(err.message).toMatch(/socket hang up|ECONNRESET/);
    await waitUntil(() => refusals(fx).length === 1, 1000, 'the refusal logged');
    expect(refusals(fx)[0]).toMatchObject({ listener: `127.0.0.1:${address.port}` });
    expect(await deniedTotal(fx)).toBe(1);
  });

  it('an address it permits is served as usual', async () => {
    const fx = await acl({ http: '127.0.0.1:0', deny: '0.0.0.0/0', permit: '127.0.0.0/8' });
    const address = fx.proxy.http[0]!;
    const status = await new Promise<number>((resolve, reject) => {
      http.get({ host: address.host, port: address.port, path: '/rawman?Action=Ping', agent: false, auth: 'alice:alice-secret' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(status).toBe(200);
  });
});

describe('reload', () => {
  it('a new deny applies to the next connection at once; connected clients stay; no restart asked for', async () => {
    const fx = await acl({});
    const before = await fx.loggedIn('alice');
    const summary = await fx.proxy.reload(parseConfig(fx.configText.replace('[general]\n', '[general]\ndeny = 127.0.0.1\n'), 'test-proxy.conf'));
    expect(summary.restartNeeded).toEqual([]);
    expect(await probe({ host: fx.host, port: fx.port })).toEqual({ data: '', closed: true });
    expect(header(await before.action([['Action', 'Ping']]), 'Response')).toBe('Success');
    await fx.proxy.reload(parseConfig(fx.configText, 'test-proxy.conf'));
    expect((await probe({ host: fx.host, port: fx.port })).data).toMatch(BANNER);
  });
});
