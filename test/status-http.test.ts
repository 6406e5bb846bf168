/**
 * The status page over real sockets, without a browser: who may see it (401 with a Basic
 * challenge, 403 without `status = yes`), what /status.json says, and how the page's files are
 * served (content types, ETag and 304, nothing outside dist/web). The browser test is
 * status-page.test.ts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../src/clients/http/status-page.js';
import { WebAssets } from '../src/clients/http/web-assets.js';
import type { StatusReport } from '../src/status/status-report.js';
import { sessionCookieOf, startHttpFixture, type HttpFixture } from './helpers/http-fixture.js';
import { stopAllFixtures, waitUntil, type UserSpec } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

const OPS: UserSpec = { name: 'ops', settings: { status: 'yes', channels: 'PJSIP/1001, PJSIP/1002', context: 'from-internal' }, servers: ['pbx1'] };
const ALICE: UserSpec = { name: 'alice' };
const WATCH: UserSpec = { name: 'watch', settings: { status: 'yes' } };
const WEB = `${packageRoot()}/dist/web`;

async function statusOf(h: HttpFixture, user = 'ops'): Promise<StatusReport> {
  const r = await h.get('/status.json', { auth: user });
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(r.headers['cache-control']).toBe('no-store');
  return JSON.parse(Buffer.from(r.body, 'latin1').toString('utf8')) as StatusReport;
}

describe('who may see the status page', () => {
  it('without credentials: 401 with a Basic challenge, so a browser asks for a login', async () => {
    const h = await startHttpFixture({ users: [OPS, ALICE] });
    for (const path of ['/', '/status.json']) {
      const r = await h.get(path);
      expect(r.status, path).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Basic realm="amiplex"');
    }
    const page = await h.get('/');
    expect(page.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(page.body).toMatch(/^401 Permission denied: log in with HTTP Basic/);
    const data = await h.get('/status.json');
    expect(JSON.parse(data.body)).toEqual([{ Response: 'Error', Message: expect.stringMatching(/^Permission denied/) }]);
  });

  it('wrong credentials: 401 after auth_fail_delay, counted and logged as a failed login without the secret', async () => {
    const h = await startHttpFixture({ users: [OPS, ALICE], general: { auth_fail_delay: 0.3 } });
    const started = Date.now();
    const r = await h.get('/', { auth: 'ops', secret: 'not-the-secret' });
    expect(r.status).toBe(401);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(r.headers['www-authenticate']).toBe('Basic realm="amiplex"');
    expect(h.fx.proxy.hub.counters.failedLogins).toBe(1);
    expect(h.fx.logs.filter((l) => l.includes('login failed'))).toHaveLength(1);
    expect(h.fx.logs.join('')).not.toContain('not-the-secret');
  });

  it('a user without status = yes: 403 saying why, for the page and its data', async () => {
    const h = await startHttpFixture({ users: [OPS, ALICE] });
    const page = await h.get('/', { auth: 'alice' });
    expect(page.status).toBe(403);
    expect(page.body).toBe('403 User alice may not see the status page (it needs status = yes in its [user] section)\n');
    const data = await h.get('/status.json', { auth: 'alice' });
    expect(data.status).toBe(403);
    expect(JSON.parse(data.body)).toEqual([{ Response: 'Error', Message: 'User alice may not see the status page (it needs status = yes in its [user] section)' }]);
    expect(h.fx.logs.filter((l) => l.includes('"status":403'))).toHaveLength(2);
  });

  it('with status = yes: the page, by HTTP Basic or by the mansession_id cookie of an Action=Login', async () => {
    const h = await startHttpFixture({ users: [OPS, ALICE] });
    const r = await h.get('/', { auth: 'ops' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cache-control']).toBe('private, no-cache');
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(r.body).toBe(readFileSync(`${WEB}/status.html`, 'latin1'));
    expect(r.body).toContain('<script type="module" src="/static/status.js"></script>');

    const cookie = sessionCookieOf(await h.get('/rawman?Action=Login&Username=ops&Secret=ops-secret'));
    const byCookie = await h.get('/status.json', { cookie });
    expect(byCookie.status).toBe(200);
    // Each use refreshes the cookie, as an action's answer does.
    expect(byCookie.headers['set-cookie']![0]).toMatch(/^mansession_id="[0-9a-f]{32}"; Version=1; Max-Age=\d+;/);
    expect((JSON.parse(byCookie.body) as StatusReport).me.name).toBe('ops');
  });

  it('only GET and HEAD (a POST with an Action is an action); the action paths stay as they were', async () => {
    const h = await startHttpFixture({ users: [OPS, ALICE] });
    const post = await h.post('/', 'Ping=1', { auth: 'ops' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD, OPTIONS');
    const head = await h.request('/', { method: 'HEAD', auth: 'ops' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    for (const path of ['/action?Action=Ping', '/asterisk/?Action=Ping', '/rawman?Action=Ping', '/asterisk/rawman?Action=Ping']) {
      const r = await h.get(path, { auth: 'alice' });
      expect(r.status, path).toBe(200);
      expect(r.body, path).toMatch(/^Response: Success\r\nPing: Pong\r\n/);
    }
  });
});

describe('/status.json', () => {
  it('every PBX (state, AMI version, address, uptime, events and their rate) and every client, AMI and event stream', async () => {
    const h = await startHttpFixture({
      pbxes: [{ name: 'pbx1', sim: { rate: 200 } }, { name: 'pbx2' }],
      users: [OPS, ALICE, { name: 'jay', format: 'json' }, WATCH],
    });
    const alice = await h.fx.loggedIn('alice', 'on', 'alice');
    // jay reads json, which the test client does not decode: logged in once amiplex says so.
    const jay = await h.fx.client('jay');
    jay.sendAction([['Action', 'Login'], ['Username', 'jay'], ['Secret', 'jay-secret']]);
    await waitUntil(() => [...h.fx.proxy.hub.clients].some((c) => c.user?.name === 'jay'), 3000, 'jay logged in');
    // The stream is watch's: ops sees only its own devices' events, which may be few at this rate.
    const stream = await h.sse('/events', { auth: 'watch' });
    await stream.waitForCount(5);
    // A rate needs two samples of the counters (one a second).
    await waitUntil(() => (h.fx.proxy.hub.servers.get('pbx1')?.eventsIn ?? 0) > 0, 3000, 'events from pbx1');
    await new Promise((r) => setTimeout(r, 2200));
    const s = await statusOf(h);

    expect(s.amiplex.version).toBe((JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version: string }).version);
    expect(s.amiplex.uptimeS).toBeGreaterThanOrEqual(2);
    // ops may use pbx1 only, but the page is an operator's: it shows both.
    expect(s.me).toEqual({ name: 'ops', servers: ['pbx1'], channels: ['PJSIP/1001', 'PJSIP/1002'], context: 'from-internal' });
    expect(s.servers.map((x) => x.name)).toEqual(['pbx1', 'pbx2']);
    const pbx1 = s.servers[0]!;
    const port = h.fx.pbx('pbx1').port;
    expect(pbx1).toMatchObject({ state: 'up', amiVersion: expect.stringMatching(/^\d+\.\d+\.\d+$/), host: '127.0.0.1', port, address: `127.0.0.1:${port}`, lastError: null });
    expect(pbx1.uptimeS).toBeGreaterThanOrEqual(2);
    expect(pbx1.eventsIn).toBeGreaterThan(0);
    expect(pbx1.eventsPerSecond).toBeGreaterThan(0);
    expect(s.servers[1]).toMatchObject({ name: 'pbx2', state: 'up', eventsPerSecond: expect.any(Number) });
    expect(s.totals.eventsPerSecond).toBeGreaterThan(0);
    expect(s.totals.eventsIn).toBeGreaterThanOrEqual(pbx1.eventsIn);

    const byUser = new Map(s.clients.map((c) => [`${c.kind} ${c.user}`, c]));
    expect(byUser.get('ami alice')).toMatchObject({ format: 'standard', eventsDropped: 0, buffered: expect.any(Number) });
    expect(byUser.get('ami alice')!.eventsSent).toBeGreaterThan(0);
    expect(byUser.get('ami jay')).toMatchObject({ format: 'json' });
    expect(byUser.get('ami alice')!.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(byUser.get('sse watch')).toMatchObject({ format: 'sse', eventsDropped: null });
    expect(byUser.get('sse watch')!.eventsSent).toBeGreaterThanOrEqual(5);
    expect(s.totals).toMatchObject({ amiClients: 2, eventStreams: 1 });

    // Gone clients leave the list; a PBX that goes away shows it.
    await alice.close();
    await jay.close();
    stream.close();
    await h.fx.pbx('pbx2').stop();
    await h.fx.waitServerState('pbx2', 'down').catch(() => undefined);
    await waitUntil(() => h.fx.proxy.hub.clients.size === 0, 3000, 'clients gone');
    const after = await statusOf(h);
    expect(after.clients.filter((c) => c.kind === 'ami')).toEqual([]);
    const pbx2 = after.servers[1]!;
    expect(pbx2.state).not.toBe('up');
    expect(pbx2.uptimeS).toBeNull();
    expect(pbx2.lastError).not.toBeNull();
  });
});

describe('the page\'s files', () => {
  it('served from dist/web with their content types, an ETag (304 when unchanged) and no-cache', async () => {
    const h = await startHttpFixture({ users: [OPS] });
    const types: Record<string, string> = {
      'status.js': 'text/javascript; charset=utf-8',
      'status.css': 'text/css; charset=utf-8',
      'tail.js': 'text/javascript; charset=utf-8',
      'status.js.map': 'application/json; charset=utf-8',
    };
    for (const [name, type] of Object.entries(types)) {
      // No login needed: they hold no data.
      const r = await h.get(`/static/${name}`);
      expect(r.status, name).toBe(200);
      expect(r.headers['content-type'], name).toBe(type);
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.body).toBe(readFileSync(`${WEB}/${name}`, 'latin1'));
      const etag = r.headers.etag!;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
      const again = await h.get(`/static/${name}`, { headers: { 'If-None-Match': etag } });
      expect(again.status).toBe(304);
      expect(again.body).toBe('');
    }
  });

  it('nothing outside dist/web, nor a file of an unknown type: 404', async () => {
    const h = await startHttpFixture({ users: [OPS] });
    const secret = readFileSync(`${packageRoot()}/package.json`, 'latin1');
    const tries = [
      '/static/../package.json',
      '/static/../../package.json',
      '/static/..%2f..%2fpackage.json',
      '/static/%2e%2e/%2e%2e/package.json',
      '/static/..\\..\\package.json',
      '/static/',
      '/static/nope.js',
      '/static/status.ts',
      '/static/.status.js',
      '/static/status.js%00.css',
      '/static/status',
      '/static/status.html/',
      '/static//etc/passwd',
      '/../package.json',
      '/web/status.js',
    ];
    for (const path of tries) {
      const r = await h.get(path, { auth: 'ops' });
      expect(r.status, path).toBe(404);
      expect(r.body, path).not.toContain('"name": "amiplex"');
      expect(r.body).not.toContain(secret.slice(0, 40));
    }
  });
});

describe('WebAssets', () => {
  it('loads plain files of known types in its folder, and nothing through a name that is a path or a link out of it', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'amiplex-web-'));
    try {
      const root = path.join(base, 'web');
      mkdirSync(root);
      writeFileSync(path.join(root, 'app.js'), 'ok();');
      writeFileSync(path.join(base, 'outside.js'), 'secret();');
      symlinkSync(path.join(base, 'outside.js'), path.join(root, 'link.js'));
      mkdirSync(path.join(root, 'dir.js'));
      writeFileSync(path.join(root, 'notes.txt'), 'text');
      const assets = new WebAssets(root);
      const app = await assets.load('app.js');
      expect(app).toMatchObject({ name: 'app.js', contentType: 'text/javascript; charset=utf-8' });
      expect(app!.body.toString()).toBe('ok();');
      for (const name of ['../outside.js', 'link.js', 'dir.js', 'notes.txt', 'missing.js', '', '.', '..']) {
        expect(await assets.load(name), name).toBeUndefined();
      }
      // A changed file is read again, with a new ETag.
      writeFileSync(path.join(root, 'app.js'), 'changed(1);');
      const changed = await assets.load('app.js');
      expect(changed!.body.toString()).toBe('changed(1);');
      expect(changed!.etag).not.toBe(app!.etag);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
