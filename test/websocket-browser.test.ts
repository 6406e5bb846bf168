/**
 * `/amiplex.js` in a real browser (Chromium through playwright-core, as the status page test):
 * a page of amiplex's origin logs in with `Action=Login` (its mansession_id cookie), opens the
 * socket, sees live events, survives a broken socket (reconnect with since=: no event missed
 * or repeated), and originates a call whose OriginateResponse is the action's answer.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../src/clients/http/status-page.js';
import { launchBrowser, type TestBrowser } from './helpers/browser.js';
import { startHttpFixture } from './helpers/http-fixture.js';
import { stopAllFixtures } from './helpers/proxy-fixture.js';

const browsers: TestBrowser[] = [];
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(browsers.splice(0).map((b) => b.close()));
  for (const s of servers.splice(0)) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await stopAllFixtures();
});

/** The app: a plain page of amiplex's origin using the module amiplex serves. */
const APP = `<!doctype html>
<html><head><meta charset="utf-8"><title>app</title><link rel="icon" href="data:,"></head>
<body>
<p id="state">starting</p>
<pre id="answer"></pre>
<ol id="events"></ol>
<script type="module">
import { connect } from '/amiplex.js';
const login = await fetch('/json', { method: 'POST', body: new URLSearchParams({ Action: 'Login', Username: 'alice', Secret: 'alice-secret' }) });
if (!login.ok) throw new Error('login refused: ' + login.status);
const ami = connect('/ws');
window.ami = ami;
window.ids = [];
window.urls = [];
ami.on('state', (state) => { document.getElementById('state').textContent = state; });
ami.on('event', (event, info) => {
  window.ids.push(info.id);
  const li = document.createElement('li');
  li.textContent = event.Event + ' ' + (event.Uniqueid ?? '');
  document.getElementById('events').append(li);
});
window.originate = async (channelId) => {
  const answer = await ami.action({ Action: 'Originate', Channel: 'PJSIP/1001', Exten: '1002', Context: 'from-internal', Priority: 1, Async: 'true', ChannelId: channelId });
  document.getElementById('answer').textContent = JSON.stringify(answer);
  return answer;
};
</script>
</body></html>`;

describe('/amiplex.js in a browser', () => {
  it('logs in with the cookie, gets live events across a broken socket, originates and gets the OriginateResponse', { timeout: 60_000 }, async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', sim: { rate: 40 } }] });
    const b = await launchBrowser();
    browsers.push(b);
    const origin = `http://${h.host}:${h.port}`;
    const sockets: string[] = [];
    b.page.on('websocket', (ws) => sockets.push(ws.url()));
    // The document the app is written into asks for /favicon.ico, which amiplex does not have.
    await b.context.route(`${origin}/favicon.ico`, (route) => route.fulfill({ status: 204 }));
    // A document of amiplex's origin (as loaded over the network, so the browser lets it reach a
    // loopback address), then the app written into it.
    expect((await b.page.goto(`${origin}/amiplex.js`))?.status()).toBe(200);
    await b.page.setContent(APP);
    await b.page.locator('#state', { hasText: 'open' }).waitFor({ timeout: 5000 });
    await b.page.locator('#events li').nth(9).waitFor({ timeout: 10_000 });

    // The socket breaks: amiplex.js opens it again with since= the last id, and nothing is missed or repeated.
    await b.page.evaluate(() => (globalThis as unknown as { ami: { ws: WebSocket } }).ami.ws.close(4000, 'broken by the test'));
    await b.page.locator('#state', { hasText: 'open' }).waitFor({ timeout: 5000 });
    const before = await b.page.evaluate(() => (globalThis as unknown as { ids: number[] }).ids.length);
    await b.page.waitForFunction((n) => (globalThis as unknown as { ids: number[] }).ids.length >= n + 20, before, { timeout: 10_000 });
    expect(sockets).toHaveLength(2);
    expect(sockets[1]).toMatch(/\/ws\?since=\d+$/);
    const ids = await b.page.evaluate(() => (globalThis as unknown as { ids: number[] }).ids);
    expect(ids).toEqual(ids.map((_, i) => ids[0]! + i));

    // An async Originate: its answer is the response and the OriginateResponse, with the call's live events on the socket.
    const answer = (await b.page.evaluate((id) => (globalThis as unknown as { originate: (id: string) => Promise<unknown> }).originate(id), 'app-call-1')) as Array<Record<string, string>>;
    expect(answer).toHaveLength(2);
    expect(answer[0]).toMatchObject({ Response: 'Success', Message: 'Originate successfully queued' });
    expect(answer[1]).toMatchObject({ Event: 'OriginateResponse', Response: 'Success', Uniqueid: 'app-call-1' });
    await b.page.locator('#answer', { hasText: 'OriginateResponse' }).waitFor({ timeout: 5000 });
    await b.page.locator('#events li', { hasText: 'Newchannel app-call-1' }).waitFor({ timeout: 5000 });
    // The page's own OriginateResponse came once, as its answer.
    expect(await b.page.locator('#events li', { hasText: 'OriginateResponse' }).count()).toBe(0);
    expect(b.problems).toEqual([]);
  });

  it('the complete example of docs/websocket.md works as written, from another origin listed in cors_origins', { timeout: 60_000 }, async () => {
    const doc = readFileSync(path.join(packageRoot(), 'docs', 'websocket.md'), 'utf8');
    const html = /```html\n([\s\S]*?)```/.exec(doc)?.[1];
    if (html === undefined) throw new Error('docs/websocket.md has no html example');
    // The app's own server (python's http.server in the doc), on a free port of its own.
    let amiplexPort = 0;
    const app = http.createServer((req, res) => {
      if (req.url !== '/app.html') return void res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html.replaceAll('127.0.0.1:8088', `127.0.0.1:${amiplexPort}`));
    });
    servers.push(app);
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const appOrigin = `http://127.0.0.1:${(app.address() as net.AddressInfo).port}`;
    const h = await startHttpFixture({ users: [{ name: 'desk' }], general: { cors_origins: appOrigin } });
    amiplexPort = h.port;
    const b = await launchBrowser();
    browsers.push(b);
    await b.context.route(`${appOrigin}/favicon.ico`, (route) => route.fulfill({ status: 204 }));
    expect((await b.page.goto(`${appOrigin}/app.html`))?.status()).toBe(200);
    await b.page.locator('#state', { hasText: 'open' }).waitFor({ timeout: 5000 });
    await b.page.fill('#number', '1002');
    await b.page.click('button');
    await b.page.locator('#outcome', { hasText: /^Success \(reason 4\) PJSIP\/1001-/ }).waitFor({ timeout: 10_000 });
    await b.page.locator('#events li', { hasText: 'Newchannel PJSIP/1001-' }).first().waitFor({ timeout: 5000 });
    expect(b.problems).toEqual([]);
  });
});
