/**
 * amiplex's own TLS listeners, with real handshakes over real sockets: raw AMI over TLS
 * (listen_tls, [listener] tls = yes), HTTPS, the certificate generated at first start, mutual
 * TLS (a client without an accepted certificate never reads a byte of AMI or HTTP), and the
 * handshake deadline.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { HostPort } from '../src/config/index.js';
import { AmiTestClient, header, isEvent } from './helpers/ami-test-client.js';
import { startFixture, stopAllFixtures, waitUntil, type ProxyFixture } from './helpers/proxy-fixture.js';
import { parsePrometheusText, valueOf } from './helpers/prometheus-text.js';
import { makeTestPki } from './helpers/test-certs.js';

const pki = makeTestPki();
const dirs: string[] = [];
afterAll(() => pki.remove());
afterEach(async () => {
  await stopAllFixtures();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const SERVER_CERT = { tls_cert: pki.server.certFile, tls_key: pki.server.keyFile };
const TRUST = { ca: pki.ca.cert, servername: 'localhost' };
const AS_CLIENT = { ...TRUST, cert: pki.client.cert, key: pki.client.key };
const AS_ROGUE = { ...TRUST, cert: pki.rogueClient.cert, key: pki.rogueClient.key };

function logLines(fx: ProxyFixture): Record<string, unknown>[] {
  return fx.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
}

interface Attempt {
  /** Whether the client finished its side of the handshake. */
  readonly handshake: boolean;
  /** What the client read before the connection closed. */
  readonly data: string;
  readonly error?: string;
}

/** A TLS connection that sends nothing and reads until amiplex closes it. */
function attemptTls(address: HostPort, options: tls.ConnectionOptions): Promise<Attempt> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: address.host, port: address.port, ...options });
    let handshake = false;
    let data = '';
    let error: string | undefined;
    socket.on('secureConnect', () => (handshake = true));
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('error', (err) => (error = err.message));
    socket.on('close', () => resolve({ handshake, data, ...(error !== undefined ? { error } : {}) }));
    socket.setTimeout(5000, () => socket.destroy(new Error('amiplex did not close the connection')));
  });
}

function httpsGet(address: HostPort, path: string, options: https.RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: address.host, port: address.port, path, agent: false, ...options }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

describe('raw AMI over TLS (listen_tls)', () => {
  it('shows the Asterisk banner, logs in, answers Ping and delivers events, and counts its clients by listener', async () => {
    const fx = await startFixture({ general: { listen_tls: '127.0.0.1:0', ...SERVER_CERT } });
    expect(fx.proxy.tls).toHaveLength(1);
    const address = fx.proxy.tls[0]!;
    expect(address.port).not.toBe(fx.port);
    const c = await AmiTestClient.connectTls(address.port, address.host, TRUST);
    expect(c.banner).toMatch(/^Asterisk Call Manager\/\d/);
    expect(c.rawText().startsWith(`${c.banner}\r\n`)).toBe(true);
    expect(header(await c.login('alice', 'alice-secret'), 'Response')).toBe('Success');
    const pong = await c.action([['Action', 'Ping'], ['ActionID', 'p-1']]);
    expect(header(pong, 'Ping')).toBe('Pong');
    expect(header(pong, 'ActionID')).toBe('p-1');
    const from = c.messages.length;
    const other = await fx.loggedIn('alice');
    await other.action([['Action', 'UserEvent'], ['UserEvent', 'OverTls'], ['Body', 'hello']]);
    const event = await c.waitFor((m) => isEvent(m, 'UserEvent') && header(m, 'UserEvent') === 'OverTls', 3000, from);
    expect(header(event, 'Body')).toBe('hello');
    expect(header(event, 'Server')).toBe('pbx1');

    const label = `127.0.0.1:${address.port}`;
    const client = [...fx.proxy.hub.clients].find((x) => x.listener === label);
    expect(client?.authenticated).toBe(true);
    const metrics = parsePrometheusText(await fx.proxy.metrics.text());
    expect(valueOf(metrics, 'amiplex_clients', { listener: label, kind: 'ami' })).toBe(1);
    const started = logLines(fx).find((l) => l.msg === 'amiplex started')!;
    expect(started.listen_tls).toEqual([address]);
    expect(started.fingerprint).toBe(new X509Certificate(pki.server.cert).fingerprint256);
    await c.close();
  });

  it('a client that does not trust the certificate gets no AMI (its own check fails)', async () => {
    const fx = await startFixture({ general: { listen_tls: '127.0.0.1:0', ...SERVER_CERT } });
    const attempt = await attemptTls(fx.proxy.tls[0]!, { ca: pki.otherCa.cert, servername: 'localhost' });
    expect(attempt.handshake).toBe(false);
    expect(attempt.error).toMatch(/certificate/);
    expect(attempt.data).toBe('');
  });

  it('closes a connection whose TLS handshake has not come within authtimeout, logged once', async () => {
    const fx = await startFixture({ general: { listen_tls: '127.0.0.1:0', authtimeout: 0.3, ...SERVER_CERT } });
    const { host, port } = fx.proxy.tls[0]!;
    const socket = net.connect({ host, port });
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(data).toBe('');
    const refused = logLines(fx).filter((l) => l.msg === 'TLS connection refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toContain('no TLS handshake within authtimeout');
    expect(fx.proxy.hub.clients.size).toBe(0);
  });

  it('stopping ends the TLS handshakes under way instead of waiting for them', async () => {
    const fx = await startFixture({ general: { listen_tls: '127.0.0.1:0', https: '127.0.0.1:0', authtimeout: 60, ...SERVER_CERT } });
    const sockets = [fx.proxy.tls[0]!, fx.proxy.https[0]!].map(({ host, port }) => {
      const socket = net.connect({ host, port });
      socket.on('error', () => undefined);
      return { socket, closed: new Promise<void>((resolve) => socket.once('close', () => resolve())) };
    });
    await Promise.all(sockets.map(({ socket }) => new Promise((resolve) => socket.once('connect', resolve))));
    await waitUntil(() => fx.proxy.hub.clients.size === 0, 1000, 'nothing');
    await fx.stop();
    await Promise.all(sockets.map((s) => s.closed));
  });

  it('handshakes under way count against authlimit: past it, a connection is closed before its handshake; a finished one frees its place', async () => {
    const fx = await startFixture({ general: { listen_tls: '127.0.0.1:0', authlimit: 2, authtimeout: 60, ...SERVER_CERT } });
    const address = fx.proxy.tls[0]!;
    // Two connections that never start their handshake take both places.
    const silent = [0, 1].map(() => {
      const socket = net.connect({ host: address.host, port: address.port });
      socket.on('error', () => undefined);
      return socket;
    });
    await Promise.all(silent.map((s) => new Promise((resolve) => s.once('connect', resolve))));
    await new Promise((r) => setTimeout(r, 100));
    const third = await attemptTls(address, TRUST);
    expect(third).toMatchObject({ handshake: false, data: '' });
    // Nor may a plain connection wait to log in meanwhile: the places are shared.
    const plain = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: fx.host, port: fx.port });
      let data = '';
      socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(data));
    });
    expect(plain).toBe('');
    expect(fx.proxy.hub.counters.refusedConnections).toBe(2);
    expect(logLines(fx).filter((l) => l.msg === 'TLS connection refused')).toEqual([]);
    // One of the silent ones goes away: its place is free for a real client.
    silent[0]!.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const c = await AmiTestClient.connectTls(address.port, address.host, TRUST);
    expect(header(await c.login('alice', 'alice-secret'), 'Response')).toBe('Success');
    silent[1]!.destroy();
  });

  it('a bad TLS client hello is logged once and harms nothing', async () => {
    const fx = await startFixture({ general: { listen_tls: '127.0.0.1:0', ...SERVER_CERT } });
    const { host, port } = fx.proxy.tls[0]!;
    const socket = net.connect({ host, port });
    socket.on('error', () => undefined);
    socket.write('Action: Login\r\nUsername: alice\r\nSecret: alice-secret\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await waitUntil(() => logLines(fx).some((l) => l.msg === 'TLS connection refused'), 2000, 'the refusal in the log');
    const refused = logLines(fx).filter((l) => l.msg === 'TLS connection refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toContain('TLS handshake failed');
    const c = await AmiTestClient.connectTls(port, host, TRUST);
    expect(header(await c.login('alice', 'alice-secret'), 'Response')).toBe('Success');
  });
});

describe('the certificate generated at first start', () => {
  it('is written next to proxy.conf, logged with its fingerprint, and served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'amiplex-firststart-'));
    dirs.push(dir);
    const fx = await startFixture({ configFile: join(dir, 'proxy.conf'), general: { listen_tls: '127.0.0.1:0' } });
    const generated = logLines(fx).find((l) => l.msg === 'no TLS certificate: generated a self-signed one');
    expect(generated).toMatchObject({ level: 30, cert: join(dir, 'certs', 'amiplex.pem'), key: join(dir, 'certs', 'amiplex.key') });
    const { host, port } = fx.proxy.tls[0]!;
    const socket = tls.connect({ host, port, rejectUnauthorized: false });
    const peer = await new Promise<tls.PeerCertificate>((resolve, reject) => {
      socket.once('secureConnect', () => resolve(socket.getPeerCertificate()));
      socket.once('error', reject);
    });
    socket.destroy();
    expect(peer.fingerprint256).toBe(generated!.fingerprint);
  });

  it('stops the start when the certificate is not usable, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'amiplex-badcert-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'bad.pem'), 'not a certificate\n');
    await expect(startFixture({ general: { listen_tls: '127.0.0.1:0', tls_cert: join(dir, 'bad.pem'), tls_key: pki.server.keyFile } }))
      .rejects.toThrow(`tls_cert ${join(dir, 'bad.pem')}: not PEM`);
  });
});

describe('mutual TLS (tls_client_ca)', () => {
  const mutual = () =>
    startFixture({
      general: SERVER_CERT,
      listeners: [{ name: 'secure', settings: { tls: 'yes', tls_client_ca: pki.ca.certFile } }],
    });

  it('a client certificate the CA signed is accepted: banner, login, Ping', async () => {
    const fx = await mutual();
    const address = fx.proxy.listeners[1]!;
    const c = await AmiTestClient.connectTls(address.port, address.host, AS_CLIENT);
    expect(c.banner).toMatch(/^Asterisk Call Manager\//);
    expect(header(await c.login('alice', 'alice-secret'), 'Response')).toBe('Success');
    expect(header(await c.action([['Action', 'Ping']]), 'Ping')).toBe('Pong');
    expect([...fx.proxy.hub.clients].map((x) => x.listener)).toContain('secure');
  });

  it('no certificate, or one another CA signed: closed without the banner, each logged once', async () => {
    const fx = await mutual();
    const address = fx.proxy.listeners[1]!;
    const none = await attemptTls(address, TRUST);
    expect(none.data).toBe('');
    const rogue = await attemptTls(address, AS_ROGUE);
    expect(rogue.data).toBe('');
    await waitUntil(() => logLines(fx).filter((l) => l.msg === 'TLS connection refused').length >= 2, 2000, 'two refusals logged');
    const reasons = logLines(fx).filter((l) => l.msg === 'TLS connection refused').map((l) => String(l.reason));
    expect(reasons).toHaveLength(2);
    expect(reasons).toContain('client certificate not accepted (none given)');
    expect(reasons.some((r) => /^client certificate not accepted \((?!none given)/.test(r))).toBe(true);
    expect(fx.proxy.hub.counters.clientsConnected).toBe(0);
  });
});

describe('HTTPS', () => {
  it('runs an action with Basic auth, as http does', async () => {
    const fx = await startFixture({ general: { https: '127.0.0.1:0', ...SERVER_CERT } });
    expect(fx.proxy.https).toHaveLength(1);
    expect(fx.proxy.http).toHaveLength(0);
    const res = await httpsGet(fx.proxy.https[0]!, '/rawman?Action=Ping&ActionID=h1', { ...TRUST, headers: { Authorization: basic('alice', 'alice-secret') } });
    expect(res.status).toBe(200);
    expect(res.body).toContain('Response: Success\r\n');
    expect(res.body).toContain('ActionID: h1\r\n');
    const denied = await httpsGet(fx.proxy.https[0]!, '/rawman?Action=Ping', { ...TRUST, headers: { Authorization: basic('alice', 'wrong') } });
    expect(denied.status).toBe(401);
  });

  it('with tls_client_ca, answers only clients presenting a certificate the CA signed', async () => {
    const fx = await startFixture({ general: { https: '127.0.0.1:0', tls_client_ca: pki.ca.certFile, ...SERVER_CERT } });
    const address = fx.proxy.https[0]!;
    const auth = { headers: { Authorization: basic('alice', 'alice-secret') } };
    const ok = await httpsGet(address, '/json?Action=Ping', { ...AS_CLIENT, ...auth });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual([expect.objectContaining({ Response: 'Success', Ping: 'Pong' })]);
    await expect(httpsGet(address, '/json?Action=Ping', { ...TRUST, ...auth })).rejects.toThrow();
    await expect(httpsGet(address, '/json?Action=Ping', { ...AS_ROGUE, ...auth })).rejects.toThrow();
    expect(fx.proxy.hub.counters.actionsForwarded).toBe(1);
    // Each refusal logged once, with its reason.
    await waitUntil(() => logLines(fx).filter((l) => l.msg === 'https: TLS connection refused').length === 2, 2000, 'both refusals logged');
    expect(logLines(fx).filter((l) => l.msg === 'https: TLS connection refused').map((l) => l.reason)).toEqual([
      'client certificate not accepted (none given)',
      expect.stringMatching(/^client certificate not accepted \(\S+/),
    ]);
  });
});
