/**
 * AMI over TLS to the PBX ([server] tls = yes): a simulated PBX behind a real TLS server with a
 * certificate from a test CA. The right CA connects end to end; the wrong one keeps the server
 * down with a clear lastError, one error logged, and clear errors for the clients' actions;
 * tls_verify = no and tls_servername do what they say.
 */
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { header, isEvent } from './helpers/ami-test-client.js';
import { startFixture, stopAllFixtures, waitUntil, type ProxyFixture, type Settings } from './helpers/proxy-fixture.js';
import { makeTestPki } from './helpers/test-certs.js';

const pki = makeTestPki();
afterAll(() => pki.remove());
afterEach(stopAllFixtures);

const PBX_TLS = { cert: pki.server.cert, key: pki.server.key };

function behindTls(server: Settings, waitUp = true): Promise<ProxyFixture> {
  return startFixture({
    // proxy.conf "lives" in the PKI's folder: tls_ca = ca.pem is relative to it.
    configFile: join(pki.dir, 'proxy.conf'),
    pbxes: [{ name: 'pbx1', tls: PBX_TLS, server: { tls: 'yes', ...server } }],
    waitUp,
  });
}

function lastError(fx: ProxyFixture): string | undefined {
  return fx.proxy.hub.servers.get('pbx1')!.session.status.lastError;
}

function logLines(fx: ProxyFixture): Record<string, unknown>[] {
  return fx.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('[server] tls = yes', () => {
  it('with tls_ca (relative to proxy.conf) the session comes up and carries actions and events', async () => {
    const fx = await behindTls({ tls_ca: 'ca.pem' });
    const slot = fx.proxy.hub.servers.get('pbx1')!;
    expect(slot.session.state).toBe('up');
    const c = await fx.loggedIn('alice');
    const pong = await c.action([['Action', 'Ping'], ['ActionID', 'over-tls']]);
    expect(header(pong, 'Ping')).toBe('Pong');
    expect(header(pong, 'ActionID')).toBe('over-tls');
    const listener = await fx.loggedIn('alice');
    await c.action([['Action', 'UserEvent'], ['UserEvent', 'ThroughTls']]);
    const event = await listener.waitFor((m) => isEvent(m, 'UserEvent') && header(m, 'UserEvent') === 'ThroughTls');
    expect(header(event, 'Server')).toBe('pbx1');
    expect(fx.pbx('pbx1').sim!.stats.logins).toBe(1);
  });

  it('a certificate from another CA keeps the server down: clear lastError, one error logged, clear errors to clients, retries', async () => {
    const fx = await behindTls({ tls_ca: pki.otherCa.certFile }, false);
    await waitUntil(() => lastError(fx) !== undefined, 3000, 'a lastError');
    expect(lastError(fx)).toBe('TLS: certificate signed by unknown authority (UNABLE_TO_VERIFY_LEAF_SIGNATURE)');
    // It keeps trying, with the usual backoff, and says so once.
    await waitUntil(() => logLines(fx).filter((l) => l.msg === 'PBX pbx1 is connecting').length >= 3, 3000, 'three attempts');
    const errors = logLines(fx).filter((l) => l.msg === 'TLS connection to PBX pbx1 failed');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ level: 50, reason: lastError(fx) });
    expect(fx.proxy.hub.servers.get('pbx1')!.session.state).not.toBe('up');

    const c = await fx.loggedIn('alice');
    const answer = await c.action([['Action', 'Ping'], ['ActionID', 'x']]);
    expect(header(answer, 'Response')).toBe('Error');
    expect(header(answer, 'Message')).toMatch(/^Server pbx1 is not connected/);
    expect(header(answer, 'ActionID')).toBe('x');
  });

  it('tls_verify = no connects whatever signed the certificate, with a warning', async () => {
    const fx = await behindTls({ tls_ca: pki.otherCa.certFile, tls_verify: 'no' });
    expect(fx.proxy.hub.servers.get('pbx1')!.session.state).toBe('up');
    expect(logLines(fx).some((l) => l.level === 40 && l.msg === 'tls_verify = no: the PBX certificate is not checked')).toBe(true);
    const c = await fx.loggedIn('alice');
    expect(header(await c.action([['Action', 'Ping']]), 'Ping')).toBe('Pong');
  });

  it('tls_servername is the name checked: one the certificate carries works, another is refused', async () => {
    const good = await behindTls({ tls_ca: 'ca.pem', tls_servername: 'localhost' });
    expect(good.proxy.hub.servers.get('pbx1')!.session.state).toBe('up');
    const bad = await behindTls({ tls_ca: 'ca.pem', tls_servername: 'pbx.example.org' }, false);
    await waitUntil(() => lastError(bad) !== undefined, 3000, 'a lastError');
    expect(lastError(bad)).toMatch(/^TLS: certificate does not carry the name asked for: .*pbx\.example\.org.* \(ERR_TLS_CERT_ALTNAME_INVALID\)$/);
  });

  it('a tls_ca that cannot be read is the lastError, and the session retries', async () => {
    const fx = await behindTls({ tls_ca: 'no-such-ca.pem' }, false);
    await waitUntil(() => logLines(fx).filter((l) => l.msg === 'PBX pbx1 is connecting').length >= 2, 3000, 'two attempts');
    expect(lastError(fx)).toBe(`TLS: tls_ca ${join(pki.dir, 'no-such-ca.pem')}: cannot be read (ENOENT)`);
  });
});
