/**
 * AMI over WebSocket (`GET /ws`, docs/websocket.md) through real sockets with the `ws` client:
 * logins and refusals before the upgrade, answers only to the socket that asked (colliding
 * ActionIDs, OriginateResponse), repeated headers, bad frames, resume with since=, filters,
 * the amiws envelope, a socket that stops reading, keep-alive, Logoff and reload.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { httpRequest, sessionCookieOf, startHttpFixture, startHttpProxyWith, type HttpFixture } from './helpers/http-fixture.js';
import { startFixture, stopAllFixtures, waitUntil } from './helpers/proxy-fixture.js';
import { makeTestPki } from './helpers/test-certs.js';
import { closeAllWsClients, WsRefused, WsTestClient, type Frame } from './helpers/ws-client.js';

afterEach(async () => {
  closeAllWsClients();
  await stopAllFixtures();
});

const connect = (h: HttpFixture, path = '/ws', options: Parameters<typeof WsTestClient.connect>[2] = { auth: 'alice' }) => WsTestClient.connect(h, path, options);

async function refusal(p: Promise<unknown>): Promise<WsRefused> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof WsRefused)) throw new Error(`expected a refused upgrade, got ${String(err)}`);
  return err;
}

const ids = (frames: Frame[]) => frames.map((f) => f.id as number);

const pki = makeTestPki();
afterAll(() => pki.remove());

describe('GET /ws: who may open a socket', () => {
  it('refuses without credentials or with wrong ones (401, after auth_fail_delay, counted) and opens with Basic or the login cookie', async () => {
    const h = await startHttpFixture();
    const none = await refusal(connect(h, '/ws', {}));
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Basic realm="amiplex"');
    expect(JSON.parse(none.body)).toEqual([{ Response: 'Error', Message: expect.stringContaining('Permission denied') }]);

    const t0 = Date.now();
    const wrong = await refusal(connect(h, '/ws', { auth: 'alice', secret: 'nope' }));
    expect(wrong.status).toBe(401);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(h.fx.proxy.hub.counters.failedLogins).toBe(1);

    const basic = await connect(h);
    basic.send({ Action: 'Ping', ActionID: 'p1' });
    const [pong] = await basic.answers('p1');
    expect(pong).toEqual({ type: 'response', server: 'pbx1', data: expect.objectContaining({ Response: 'Success', ActionID: 'p1', Ping: 'Pong' }) });

    const login = await h.post('/json', 'Action=Login&Username=alice&Secret=alice-secret');
    const cookie = sessionCookieOf(login);
    const byCookie = await connect(h, '/ws', { cookie });
    byCookie.send({ Action: 'Ping', ActionID: 'p2' });
    expect((await byCookie.answers('p2'))[0]!.data!.Response).toBe('Success');
    // The socket keeps its login session alive; a Logoff over HTTP ends the session and closes the socket.
    await h.post('/json', 'Action=Logoff', { cookie });
    expect(await byCookie.closed()).toBe(1008);
    expect(byCookie.closeReason).toBe('the login session ended');
  });

  it("refuses a foreign Origin before the upgrade (403); the listener's own and cors_origins are accepted, * is not enough", async () => {
    const h = await startHttpFixture({ general: { cors_origins: 'https://panel.example, *' } });
    const foreign = await refusal(connect(h, '/ws', { auth: 'alice', origin: 'https://evil.example' }));
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body)[0].Message).toMatch(/^Origin https:\/\/evil\.example is not allowed/);
    // Refused before credentials are even looked at: no failed login.
    expect(h.fx.proxy.hub.counters.failedLogins).toBe(0);
    await connect(h, '/ws', { auth: 'alice', origin: `http://${h.host}:${h.port}` });
    await connect(h, '/ws', { auth: 'alice', origin: 'https://panel.example' });
    expect(h.fx.logs.filter((l) => l.includes('evil.example'))).toHaveLength(1);
  });

  it('a user whose permit/deny refuse the address is refused; a server= the user may not use is 403; bad queries 400', async () => {
    const h = await startHttpFixture({
      pbxes: [{ name: 'pbx1' }, { name: 'pbx2' }],
      users: [{ name: 'alice', servers: ['pbx1'] }, { name: 'far', lines: ['permit = 10.0.0.0/8'] }],
    });
    expect((await refusal(connect(h, '/ws', { auth: 'far' }))).status).toBe(401);
    expect((await refusal(connect(h, '/ws?server=pbx2'))).status).toBe(403);
    expect((await refusal(connect(h, '/ws?server=nosuch'))).status).toBe(400);
    expect((await refusal(connect(h, '/ws?since=abc'))).status).toBe(400);
    expect((await refusal(connect(h, '/ws?lastEventId=1'))).status).toBe(400);
    expect((await refusal(connect(h, '/ws', { auth: 'alice', protocols: 'mqtt' }))).status).toBe(400);
  });

  it('opens on an HTTPS listener too (wss://)', async () => {
    const fx = await startFixture({ general: { https: '127.0.0.1:0', tls_cert: pki.server.certFile, tls_key: pki.server.keyFile } });
    const { port } = fx.proxy.https[0]!;
    const ws = new WebSocket(`wss://localhost:${port}/ws`, { ca: pki.ca.cert, headers: { Authorization: `Basic ${Buffer.from('alice:alice-secret').toString('base64')}` } });
    const frames: Frame[] = [];
    ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString('utf8')) as Frame));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ Action: 'Ping', ActionID: 'tls' }));
    await waitUntil(() => frames.length > 0, 5000, 'the answer over wss');
    expect(frames[0]).toMatchObject({ type: 'response', data: { Response: 'Success', ActionID: 'tls' } });
    ws.terminate();
  });

  it('GET /ws without an upgrade is 426; another upgrade elsewhere is answered as a plain request', async () => {
    const h = await startHttpFixture();
    const plain = await h.get('/ws', { auth: 'alice' });
    expect(plain.status).toBe(426);
    expect(plain.headers.upgrade).toBe('websocket');
    const h2c = await httpRequest(h.port, h.host, '/rawman?Action=Ping', { headers: { Authorization: h.basic('alice'), Connection: 'Upgrade, HTTP2-Settings', Upgrade: 'h2c', 'HTTP2-Settings': 'AAMAAABkAARAAAAAAAIAAAAA' } });
    expect(h2c.status).toBe(200);
    expect(h2c.body).toContain('Ping: Pong');
  });
});

describe('GET /ws: actions and their answers', () => {
  it('colliding ActionIDs from two sockets: each gets only its own whole list', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', sim: { rate: 50 } }] });
    const a = await connect(h);
    const b = await connect(h);
    await waitUntil(() => a.events().length > 20, 5000, 'calls to be up');
    a.send({ Action: 'CoreShowChannels', ActionID: 'same' });
    b.send({ Action: 'CoreShowChannels', ActionID: 'same' });
    const listA = await a.answers('same');
    const listB = await b.answers('same');
    for (const list of [listA, listB]) {
      expect(list[0]!.data).toMatchObject({ Response: 'Success', EventList: 'start' });
      const complete = list.at(-1)!.data!;
      expect(complete).toMatchObject({ Event: 'CoreShowChannelsComplete', EventList: 'Complete' });
      expect(list.slice(1, -1).every((f) => f.data!.Event === 'CoreShowChannel')).toBe(true);
      expect(Number(complete.ListItems)).toBe(list.length - 2);
      expect(list.every((f) => f.type === 'response' && f.server === 'pbx1')).toBe(true);
    }
    // Nobody got the other's list as events either.
    for (const c of [a, b]) expect(c.events('CoreShowChannel')).toEqual([]);
    await new Promise((r) => setTimeout(r, 200));
    expect(a.answersTo('same')).toHaveLength(listA.length);
    expect(b.answersTo('same')).toHaveLength(listB.length);
  });

  it('an async Originate: its OriginateResponse to the sender with its ActionID, to the other socket as an event without', async () => {
    const h = await startHttpFixture();
    const sender = await connect(h);
    const other = await connect(h);
    sender.send({ Action: 'Originate', ActionID: 'call-1', Channel: 'Local/100@test', Application: 'Wait', Data: '1', Async: 'true' });
    await sender.waitFor(() => sender.answersTo('call-1').length === 2, 5000, 'the OriginateResponse');
    const [queued, outcome] = sender.answersTo('call-1');
    expect(queued!.data).toMatchObject({ Response: 'Success', Message: 'Originate successfully queued' });
    expect(outcome).toMatchObject({ type: 'response', server: 'pbx1', data: { Event: 'OriginateResponse', Response: 'Success', ActionID: 'call-1' } });
    await other.waitFor(() => other.events('OriginateResponse').length === 1, 5000, 'the broadcast OriginateResponse');
    const seen = other.events('OriginateResponse')[0]!;
    expect(seen.data!.ActionID).toBeUndefined();
    expect(typeof seen.id).toBe('number');
    // The sender does not get it twice.
    await new Promise((r) => setTimeout(r, 200));
    expect(sender.events('OriginateResponse')).toEqual([]);
  });

  it('an array is a repeated header, in order; UTF-8 text reaches the PBX as its bytes', async () => {
    const h = await startHttpFixture();
    const sender = await connect(h);
    const watcher = await connect(h, '/ws?event=UserEvent');
    sender.send({ Action: 'UserEvent', UserEvent: 'Über', Variable: ['A=1', 'B=2', 'A=3'], ActionID: 'u1' });
    await watcher.waitFor(() => watcher.events('UserEvent').length === 1);
    expect(watcher.events('UserEvent')[0]!.data).toMatchObject({ UserEvent: 'Über', Variable: ['A=1', 'B=2', 'A=3'] });
  });

  it('bad frames get an error frame and the socket stays open', async () => {
    const h = await startHttpFixture();
    const c = await connect(h);
    c.send('{not json');
    c.send('[1,2]');
    c.send({ Action: 'Ping', Priority: 1 });
    c.send({ Action: 'Ping', Variable: ['a', { b: 1 }] });
    c.send({ Action: 'Ping', 'Bad Name': 'x' });
    c.send({ Action: 'Ping', Channel: 'a\r\nAction: Hangup' });
    c.ws.send(Buffer.from('{"Action":"Ping"}'), { binary: true });
    await c.waitFor(() => c.ofType('error').length === 7, 3000, 'seven error frames');
    const messages = c.ofType('error').map((f) => f.message as string);
    expect(messages[0]).toMatch(/^Not JSON: /);
    expect(messages[1]).toMatch(/^A frame must be one JSON object/);
    expect(messages[2]).toBe('Header "Priority": a value must be a string or an array of strings');
    expect(messages[3]).toBe('Header "Variable": a value must be a string or an array of strings');
    expect(messages[4]).toMatch(/not a header name/);
    expect(messages[5]).toMatch(/holds a CR, LF or NUL/);
    expect(messages[6]).toMatch(/^Binary frames are not read/);
    c.send({ Action: 'Ping', ActionID: 'still' });
    expect((await c.answers('still'))[0]!.data!.Ping).toBe('Pong');
    // An action without Action gets Asterisk's answer, as on TCP.
    c.send({ ActionID: 'none' });
    expect((await c.answers('none'))[0]!.data).toMatchObject({ Response: 'Error', Message: 'Missing action in request' });
    expect(c.closeCode).toBeUndefined();
  });

  it('bad frames are answered at malformed_rate at most; kept up past malformed_timeout the socket is closed (1008, counted); others go on', async () => {
    const h = await startHttpFixture({ general: { malformed_rate: 20, malformed_timeout: 1 } });
    const other = await connect(h);
    const c = await connect(h);
    const t0 = Date.now();
    // Far faster than 20 a second, for as long as the socket stays open.
    const flood = setInterval(() => {
      if (c.closeCode === undefined) for (let i = 0; i < 50; i++) c.send('{not json');
    }, 5);
    try {
      expect(await c.closed(5000)).toBe(1008);
    } finally {
      clearInterval(flood);
    }
    const elapsed = (Date.now() - t0) / 1000;
    expect(c.closeReason).toBe('bad frames kept up over malformed_rate for more than 1 s (malformed_timeout)');
    // The burst (20), then 20 a second: nowhere near the thousands sent.
    const answered = c.ofType('error').length;
    expect(answered).toBeGreaterThan(20);
    expect(answered).toBeLessThanOrEqual(20 + Math.ceil(elapsed * 20) + 5);
    expect(elapsed).toBeGreaterThanOrEqual(1);
    expect(h.fx.proxy.hub.counters.floodingClientsDropped).toBe(1);
    // The other socket never noticed.
    other.send({ Action: 'Ping', ActionID: 'after' });
    expect((await other.answers('after'))[0]!.data!.Ping).toBe('Pong');
    expect(other.closeCode).toBeUndefined();
  });

  it('every action goes through the user policy; Challenge and WaitEvent are refused; Logoff closes with 1000', async () => {
    const h = await startHttpFixture({ users: [{ name: 'alice', settings: { deny_actions: 'Originate' } }] });
    const c = await connect(h);
    c.send({ Action: 'Originate', Channel: 'Local/1@test', Application: 'Wait', ActionID: 'o' });
    c.send({ Action: 'Challenge', AuthType: 'MD5', ActionID: 'c' });
    c.send({ Action: 'WaitEvent', ActionID: 'w' });
    c.send({ Action: 'ProxySetFormat', Format: 'xml', ActionID: 'f' });
    expect((await c.answers('o'))[0]!.data).toMatchObject({ Response: 'Error', Message: 'Permission denied' });
    expect((await c.answers('c'))[0]!.data!.Response).toBe('Error');
    expect((await c.answers('w'))[0]!.data!.Response).toBe('Error');
    expect((await c.answers('f'))[0]!.data!.Response).toBe('Error');
    // One audit line per action, as for the other clients.
    const audit = h.fx.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.audit === 'websocket');
    expect(audit.find((l) => l.action === 'Originate')).toMatchObject({ user: 'alice', result: 'Error', message: 'Permission denied' });
    c.send({ Action: 'Logoff', ActionID: 'bye' });
    expect(await c.closed()).toBe(1000);
    expect(c.answersTo('bye')[0]!.data).toMatchObject({ Response: 'Goodbye' });
  });
});

describe('GET /ws: events', () => {
  it('since= after a disconnect: every event after the last seen, none missed, none twice', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', sim: { rate: 400 } }], general: { sse_replay: 100_000 } });
    const first = await connect(h);
    await first.waitFor(() => first.events().length >= 30, 5000, '30 events');
    first.terminate();
    await new Promise((r) => setTimeout(r, 100));
    const seen = ids(first.events());
    const last = seen.at(-1)!;
    await new Promise((r) => setTimeout(r, 300));
    const second = await connect(h, `/ws?since=${last}`);
    await second.waitFor(() => second.events().length >= 150, 5000, 'the replay and new events');
    const resumed = ids(second.events());
    expect(resumed[0]).toBe(last + 1);
    expect(resumed).toEqual(resumed.map((_, i) => last + 1 + i));
    expect(seen).toEqual(seen.map((_, i) => seen[0]! + i));
    // The same ids as the event stream's.
    const sse = await h.sse(`/events`, { auth: 'alice', lastEventId: String(last) });
    await sse.waitForCount(20);
    expect(sse.events.slice(0, 20).map((e) => Number(e.id))).toEqual(resumed.slice(0, 20));
    expect(JSON.parse(sse.events[0]!.data)).toEqual(second.events()[0]!.data);
  });

  it('a since= older than the replay buffer: ProxyEventsLost first, then what is kept', async () => {
    const h = await startHttpFixture({ general: { sse_replay: 3 } });
    const c = await connect(h);
    // Its own UserEvents come to the sender as answers: another socket sends them.
    const sender = await connect(h);
    for (let i = 1; i <= 6; i++) sender.send({ Action: 'UserEvent', UserEvent: `E${i}` });
    await c.waitFor(() => c.events('UserEvent').length === 6);
    const firstId = c.events()[0]!.id as number;
    const again = await connect(h, `/ws?since=${firstId}`);
    await again.waitFor(() => again.events().length === 4);
    const [lost, ...kept] = again.events();
    expect(lost).toEqual({ type: 'event', server: null, data: expect.objectContaining({ Event: 'ProxyEventsLost', Missed: '2', LastEventID: String(firstId) }) });
    expect(ids(kept)).toEqual([firstId + 3, firstId + 4, firstId + 5]);
  });

  it('event= and server= filter; the Filter action works per socket', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1' }, { name: 'pbx2' }] });
    const onlyPbx2 = await connect(h, '/ws?server=pbx2');
    const onlyUserEvents = await connect(h, '/ws?event=UserEvent');
    const filtered = await connect(h);
    const plain = await connect(h);
    const sender = await connect(h);
    filtered.send({ Action: 'Filter', Operation: 'Add', Filter: 'UserEvent: Keep', ActionID: 'f' });
    expect((await filtered.answers('f'))[0]!.data).toMatchObject({ Response: 'Success' });
    for (const [server, name] of [['pbx1', 'Keep'], ['pbx2', 'Drop'], ['pbx1', 'Drop'], ['pbx2', 'Keep']]) {
      sender.send({ Action: 'UserEvent', UserEvent: name, Server: server });
    }
    await plain.waitFor(() => plain.events('UserEvent').length === 4);
    await onlyPbx2.waitFor(() => onlyPbx2.events('UserEvent').length === 2);
    await filtered.waitFor(() => filtered.events('UserEvent').length === 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(onlyPbx2.events().every((f) => f.server === 'pbx2')).toBe(true);
    expect(onlyUserEvents.events().every((f) => f.data!.Event === 'UserEvent')).toBe(true);
    expect(onlyUserEvents.events()).toHaveLength(4);
    expect(filtered.events('UserEvent').map((f) => `${f.server} ${f.data!.UserEvent}`)).toEqual(['pbx1 Keep', 'pbx2 Keep']);
    expect(plain.events('UserEvent')).toHaveLength(4);
  });

  it('subprotocol amiws: amiws envelope, AMIServerID picks the server', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1' }, { name: 'pbx2' }] });
    const c = await connect(h, '/ws', { auth: 'alice', protocols: 'amiws' });
    expect(c.ws.protocol).toBe('amiws');
    c.send({ Action: 'UserEvent', UserEvent: 'Hi', AMIServerID: 2, ActionID: 'x' });
    await c.waitFor(() => c.frames.some((f) => f.type === 3));
    await c.waitFor(() => c.frames.some((f) => f.type === 4));
    expect(c.frames.find((f) => f.type === 4)).toEqual({ type: 4, server_id: 2, server_name: 'pbx2', ssl: false, data: expect.objectContaining({ Response: 'Success', ActionID: 'x' }) });
    expect(c.frames.find((f) => f.type === 3)).toEqual({ type: 3, server_id: 2, server_name: 'pbx2', ssl: false, data: expect.objectContaining({ Event: 'UserEvent', UserEvent: 'Hi' }) });
    c.send({ Action: 'Ping', AMIServerID: 9 });
    await c.waitFor(() => c.ofType('error').length === 1);
  });
});

describe('GET /ws: a socket is bounded like a TCP client', () => {
  it('a socket that stops reading is closed (1008, counted, logged once) while another keeps every event', async () => {
    const h = await startHttpFixture({
      pbxes: [{ name: 'pbx1', sim: { rate: 0 } }],
      general: { client_buffer: '16K', client_buffer_max: '256K', slow_client_timeout: 30 },
    });
    const slow = await connect(h);
    const fast = await connect(h);
    slow.ws.pause();
    const counters = h.fx.proxy.hub.counters;
    const before = counters.eventsIn;
    const sim = h.fx.pbx('pbx1').sim!;
    sim.setRate(5000);
    try {
      await waitUntil(() => counters.webSocketsSlowClosed === 1, 15_000, 'the slow socket to be closed');
    } finally {
      sim.setRate(0);
    }
    slow.ws.resume();
    expect(await slow.closed(15_000)).toBe(1008);
    expect(slow.closeReason).toBe('output buffer over client_buffer_max (262144 bytes)');
    expect(counters.slowClientsDropped).toBe(1);
    expect(h.fx.logs.filter((l) => l.includes('slow websocket closed'))).toHaveLength(1);
    await fast.waitFor(() => fast.events().length === counters.eventsIn - before, 10_000, 'every event on the other socket');
    expect(fast.events().length).toBeGreaterThan(1000);
    expect(fast.closeCode).toBeUndefined();
    const fastIds = ids(fast.events());
    expect(fastIds).toEqual(fastIds.map((_, i) => fastIds[0]! + i));
    // The server counts the closed socket until its side of the close handshake is over.
    let metrics = await h.get('/metrics');
    for (let tries = 0; tries < 50 && !/kind="websocket"\} 1$/m.test(metrics.body); tries++) {
      await new Promise((r) => setTimeout(r, 100));
      metrics = await h.get('/metrics');
    }
    expect(metrics.body).toMatch(/^amiplex_websockets_slow_closed_total 1$/m);
    expect(metrics.body).toMatch(/^amiplex_clients\{listener="127\.0\.0\.1:\d+",kind="websocket"\} 1$/m);
  });

  it('its output counts in client_buffer_total with the others: over it, the socket with the most queued is closed', async () => {
    const h = await startHttpFixture({
      pbxes: [{ name: 'pbx1', sim: { rate: 0 } }],
      general: { client_buffer: '16K', client_buffer_max: '1M', client_buffer_total: '1536K', slow_client_timeout: 60 },
    });
    // Two sockets that stop reading: each stays under client_buffer_max, together they go over the total.
    const slow = [await connect(h), await connect(h)];
    const tcp = await h.fx.loggedIn('alice', 'on');
    for (const s of slow) s.ws.pause();
    const counters = h.fx.proxy.hub.counters;
    const sim = h.fx.pbx('pbx1').sim!;
    sim.setRate(5000);
    try {
      await waitUntil(() => counters.webSocketsSlowClosed >= 1, 20_000, 'the budget to close a socket');
    } finally {
      sim.setRate(0);
    }
    for (const s of slow) s.ws.resume();
    await waitUntil(() => slow.some((s) => s.closeCode !== undefined), 15_000, 'a socket to close');
    const closed = slow.find((s) => s.closeCode !== undefined)!;
    expect(closed.closeCode).toBe(1008);
    expect(closed.closeReason).toBe('output of all clients over client_buffer_total (1572864 bytes); this one had the most queued');
    // The raw client that kept reading is still there.
    const pong = await tcp.action([['Action', 'Ping'], ['ActionID', 'still-here']]);
    expect(pong.raw).toContain('Ping: Pong');
  });

  it('a peer that stops answering pings is cut', async () => {
    const started = await startHttpProxyWith({ sseKeepAliveMs: 15_000, wsPingMs: 100 });
    try {
      const h = { ...started.http, basic: started.http.basic };
      const deaf = await WsTestClient.connect(h, '/ws', { auth: 'alice', ws: { autoPong: false } });
      const live = await WsTestClient.connect(h, '/ws', { auth: 'alice' });
      expect(await deaf.closed(3000)).toBe(1006);
      await new Promise((r) => setTimeout(r, 300));
      expect(live.closeCode).toBeUndefined();
    } finally {
      closeAllWsClients();
      await started.stop();
    }
  });

  it('a reload that removes the user closes its sockets (1008); the others stay', async () => {
    const h = await startHttpFixture({ users: [{ name: 'alice' }, { name: 'bob' }] });
    const alice = await connect(h);
    const bob = await connect(h, '/ws', { auth: 'bob' });
    const text = h.fx.configText.replace(/\[user bob\][^[]*/, '');
    const { parseConfig } = await import('../src/config/index.js');
    await h.fx.proxy.reload(parseConfig(text, 'test-proxy.conf'));
    expect(await bob.closed()).toBe(1008);
    expect(bob.closeReason).toBe('its user was removed from proxy.conf');
    alice.send({ Action: 'Ping', ActionID: 'p' });
    expect((await alice.answers('p'))[0]!.data!.Ping).toBe('Pong');
  });

  it('shutting down closes every socket with 1001', async () => {
    const h = await startHttpFixture();
    const c = await connect(h);
    await h.fx.stop();
    expect(await c.closed()).toBe(1001);
  });
});
