/**
 * GET /metrics over real sockets: the counters match the traffic that went through (actions,
 * events, fan-out, logins, HTTP requests), each action's answer time is observed once, at its
 * final answer; the clients gauge follows connections per listener; a PBX that goes away
 * shows as down and its comeback as a reconnect; only metrics_permit addresses may read it.
 */
import net from 'node:net';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { AmiHeader, AmiMessage } from '../src/ami/message.js';
import { ActionRouter } from '../src/router/action-router.js';
import { eventNamed, header } from './helpers/ami-test-client.js';
import { httpRequest, startHttpFixture, type HttpFixture } from './helpers/http-fixture.js';
import { stopAllFixtures, waitUntil, type ReceivedAction, type ScriptedPbx } from './helpers/proxy-fixture.js';
import { parsePrometheusText, samplesOf, valueOf, type Exposition } from './helpers/prometheus-text.js';

afterEach(stopAllFixtures);

async function scrape(h: HttpFixture): Promise<Exposition> {
  const res = await h.get('/metrics');
  expect(res.status, res.body).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(res.body);
}

/** The one connection a scripted PBX has from amiplex. */
function upstreamOf(pbx: ScriptedPbx) {
  const [session] = pbx.sessions;
  if (!session) throw new Error('amiplex is not connected to the scripted PBX');
  return session;
}

const idOf = (a: ReceivedAction) => a.headers.find(([n]) => n.toLowerCase() === 'actionid')?.[1] ?? '';

describe('GET /metrics', () => {
  it('counts the actions, events, deliveries, clients and logins that went through', async () => {
    const N = 7;
    const M = 5;
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', scripted: {} }] });
    const pbx = h.fx.pbx('pbx1').scripted!;
    const a = await h.fx.loggedIn('alice', 'on', 'a');
    const b = await h.fx.loggedIn('alice', 'on', 'b');
    for (let i = 0; i < N; i++) {
      const res = await a.action([['Action', 'Ping'], ['ActionID', `p${i}`]]);
      expect(header(res, 'Ping')).toBe('Pong');
    }
    for (let j = 0; j < M; j++) {
      upstreamOf(pbx).send([['Event', 'Newchannel'], ['Privilege', 'call,all'], ['Channel', `PJSIP/10${j}-0001`], ['Uniqueid', `u${j}`]]);
    }
    await a.waitForCount(eventNamed('Newchannel'), M);
    await b.waitForCount(eventNamed('Newchannel'), M);

    const first = await scrape(h);
    const server = { server: 'pbx1' };
    expect(valueOf(first, 'amiplex_server_up', server)).toBe(1);
    expect(valueOf(first, 'amiplex_server_reconnects_total', server)).toBe(0);
    expect(valueOf(first, 'amiplex_server_events_received_total', server)).toBe(M);
    expect(valueOf(first, 'amiplex_events_delivered_total')).toBe(M * 2);
    expect(valueOf(first, 'amiplex_events_dropped_total')).toBe(0);
    expect(valueOf(first, 'amiplex_server_actions_sent_total', server)).toBe(N);
    expect(valueOf(first, 'amiplex_server_actions_pending', server)).toBe(0);
    expect(valueOf(first, 'amiplex_action_duration_seconds_count', server)).toBe(N);
    expect(valueOf(first, 'amiplex_action_duration_seconds_bucket', { ...server, le: '+Inf' })).toBe(N);
    expect(valueOf(first, 'amiplex_action_duration_seconds_bucket', { ...server, le: '30' })).toBe(N);
    expect(valueOf(first, 'amiplex_clients', { listener: `127.0.0.1:${h.fx.port}`, kind: 'ami' })).toBe(2);
    // The scrape's own connection, the only one open.
    expect(valueOf(first, 'amiplex_clients', { listener: `127.0.0.1:${h.port}`, kind: 'http' })).toBe(1);
    expect(valueOf(first, 'amiplex_clients_connected_total')).toBe(2);
    expect(valueOf(first, 'amiplex_failed_logins_total')).toBe(0);
    expect(valueOf(first, 'amiplex_slow_clients_disconnected_total')).toBe(0);
    expect(valueOf(first, 'amiplex_http_requests_total', { status: '2xx' })).toBe(0);

    const intruder = await h.fx.client('intruder');
    intruder.sendAction([['Action', 'Login'], ['Username', 'alice'], ['Secret', 'wrong']]);
    await intruder.waitClosed();
    expect((await h.get('/no-such-path')).status).toBe(404);

    const second = await scrape(h);
    expect(valueOf(second, 'amiplex_failed_logins_total')).toBe(1);
    expect(valueOf(second, 'amiplex_clients_connected_total')).toBe(3);
    expect(valueOf(second, 'amiplex_clients', { listener: `127.0.0.1:${h.fx.port}`, kind: 'ami' })).toBe(2);
    expect(valueOf(second, 'amiplex_http_requests_total', { status: '2xx' })).toBe(1);
    expect(valueOf(second, 'amiplex_http_requests_total', { status: '4xx' })).toBe(1);
    expect(valueOf(second, 'amiplex_http_requests_total', { status: '5xx' })).toBe(0);
  });

  it('declares each metric with its type, and Node process metrics under the amiplex_ prefix', async () => {
    const h = await startHttpFixture();
    const e = await scrape(h);
    const expected: Record<string, string> = {
      amiplex_server_up: 'gauge',
      amiplex_server_reconnects_total: 'counter',
      amiplex_server_events_received_total: 'counter',
      amiplex_server_actions_sent_total: 'counter',
      amiplex_server_actions_pending: 'gauge',
      amiplex_server_actions_timed_out_total: 'counter',
      amiplex_server_actions_lost_total: 'counter',
      amiplex_server_read_holds_total: 'counter',
      amiplex_action_duration_seconds: 'histogram',
      amiplex_clients: 'gauge',
      amiplex_events_delivered_total: 'counter',
      amiplex_events_dropped_total: 'counter',
      amiplex_slow_clients_disconnected_total: 'counter',
      amiplex_flooding_clients_disconnected_total: 'counter',
      amiplex_failed_logins_total: 'counter',
      amiplex_clients_connected_total: 'counter',
      amiplex_connections_refused_total: 'counter',
      amiplex_events_streamed_total: 'counter',
      amiplex_http_requests_total: 'counter',
      amiplex_process_cpu_user_seconds_total: 'counter',
      amiplex_process_start_time_seconds: 'gauge',
      amiplex_nodejs_eventloop_lag_seconds: 'gauge',
      // How late the event loop ran at p99 since the last scrape (docs/metrics.md, docs/benchmark.md).
      amiplex_nodejs_eventloop_lag_p99_seconds: 'gauge',
      amiplex_nodejs_heap_size_used_bytes: 'gauge',
    };
    for (const [name, type] of Object.entries(expected)) expect(e.types.get(name), name).toBe(type);
    expect(e.samples.filter((s) => !s.name.startsWith('amiplex_')).map((s) => s.name)).toEqual([]);
    // Latency buckets from 1 ms to 30 s.
    const les = samplesOf(e, 'amiplex_action_duration_seconds_bucket', { server: 'pbx1' }).map((s) => s.labels.le);
    expect(les[0]).toBe('0.001');
    expect(les.slice(-2)).toEqual(['30', '+Inf']);
  });

  it('observes an action once, when its last answer comes: the end of its list, not its first response', async () => {
    const h = await startHttpFixture({
      pbxes: [
        {
          name: 'pbx1',
          scripted: {
            respond: (action) => {
              const id = idOf(action);
              action.session.send([['Response', 'Success'], ['ActionID', id], ['EventList', 'start'], ['Message', 'Items will follow']]);
              action.session.send([['Event', 'Item'], ['ActionID', id], ['N', '1']]);
              setTimeout(() => action.session.send([['Event', 'ItemsComplete'], ['ActionID', id], ['EventList', 'Complete'], ['ListItems', '1']]), 120);
            },
          },
        },
      ],
    });
    const c = await h.fx.loggedIn('alice', 'off');
    const list = await c.list([['Action', 'SlowList'], ['ActionID', 'l1']]);
    expect(list.items).toHaveLength(1);
    const e = await scrape(h);
    const server = { server: 'pbx1' };
    expect(valueOf(e, 'amiplex_action_duration_seconds_count', server)).toBe(1);
    // The Complete event came at least 120 ms after the action was sent: nothing at or under 50 ms.
    expect(valueOf(e, 'amiplex_action_duration_seconds_bucket', { ...server, le: '0.05' })).toBe(0);
    expect(valueOf(e, 'amiplex_action_duration_seconds_sum', server)).toBeGreaterThanOrEqual(0.1);
  });

  it('counts the clients of each listener, a [listener] by its name, and forgets them when they leave', async () => {
    const h = await startHttpFixture({ listeners: [{ name: 'feed', format: 'json' }] });
    const general = `127.0.0.1:${h.fx.port}`;
    const feed = h.fx.proxy.listeners[1]!;
    const socket = net.connect(feed.port, feed.host);
    await new Promise((resolve) => socket.once('connect', resolve));
    await waitUntil(() => h.fx.proxy.hub.clients.size === 1, 3000, 'the client to be accepted');
    let e = await scrape(h);
    expect(valueOf(e, 'amiplex_clients', { listener: 'feed', kind: 'ami' })).toBe(1);
    expect(valueOf(e, 'amiplex_clients', { listener: general, kind: 'ami' })).toBe(0);
    socket.destroy();
    await waitUntil(() => h.fx.proxy.hub.clients.size === 0, 3000, 'the client to be gone');
    e = await scrape(h);
    expect(valueOf(e, 'amiplex_clients', { listener: 'feed', kind: 'ami' })).toBe(0);
    expect(valueOf(e, 'amiplex_clients_connected_total')).toBe(1);
  });

  it('counts the events written to event streams, once per event and stream that shows it', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', scripted: {} }] });
    const pbx = h.fx.pbx('pbx1').scripted!;
    const all = await h.sse('/events', { auth: 'alice' });
    const hangups = await h.sse('/events?event=Hangup', { auth: 'alice' });
    await waitUntil(() => pbx.sessions.size === 1, 3000, 'amiplex connected');
    for (let j = 0; j < 3; j++) upstreamOf(pbx).send([['Event', 'Newchannel'], ['Privilege', 'call,all'], ['Channel', `PJSIP/10${j}-0001`]]);
    upstreamOf(pbx).send([['Event', 'Hangup'], ['Privilege', 'call,all'], ['Channel', 'PJSIP/100-0001']]);
    await all.waitForCount(4);
    await hangups.waitForCount(1);
    const e = await scrape(h);
    expect(valueOf(e, 'amiplex_events_streamed_total')).toBe(5);
    expect(valueOf(e, 'amiplex_events_delivered_total')).toBe(0);
    all.close();
    hangups.close();
  });

  it('counts connections refused because authlimit connections were waiting to log in', async () => {
    const h = await startHttpFixture({ general: { authlimit: 1 } });
    const waiting = await h.fx.client('waiting');
    await waitUntil(() => h.fx.proxy.hub.clients.size === 1, 3000, 'the first connection to be accepted');
    // Refused before the banner: a plain socket sees the connection closed, and no byte.
    const refused = net.connect(h.fx.port, '127.0.0.1');
    let got = 0;
    refused.on('data', (d: Buffer) => (got += d.length));
    await new Promise((resolve) => refused.once('close', resolve));
    expect(got).toBe(0);
    const e = await scrape(h);
    expect(valueOf(e, 'amiplex_connections_refused_total')).toBe(1);
    expect(valueOf(e, 'amiplex_clients_connected_total')).toBe(1);
    await waiting.close();
  });

  it('counts the actions amiplex had to answer itself: timed out, and lost with the PBX session', async () => {
    // The scripted PBX answers nothing but Login, Logoff and Ping.
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', scripted: {} }], general: { action_timeout: 0.3 } });
    const c = await h.fx.loggedIn('alice', 'off');
    const late = await c.action([['Action', 'CoreStatus'], ['ActionID', 't1']]);
    expect(header(late, 'Message')).toMatch(/^Timeout: /);
    c.sendAction([['Action', 'CoreStatus'], ['ActionID', 'l1']]);
    await waitUntil(() => h.fx.pbx('pbx1').scripted!.actions.filter((a) => idOf(a).length > 0 && a.headers.some(([, v]) => v === 'CoreStatus')).length === 2, 3000, 'the second action at the PBX');
    await h.fx.pbx('pbx1').stop();
    const lost = await c.waitFor((m) => header(m, 'ActionID') === 'l1');
    expect(header(lost, 'Response')).toBe('Error');
    const e = await scrape(h);
    expect(valueOf(e, 'amiplex_server_actions_timed_out_total', { server: 'pbx1' })).toBe(1);
    expect(valueOf(e, 'amiplex_server_actions_lost_total', { server: 'pbx1' })).toBe(1);
    expect(valueOf(e, 'amiplex_server_actions_sent_total', { server: 'pbx1' })).toBe(2);
  });

  it('shows a PBX that closed the connection as down, and its comeback as a reconnect', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', scripted: {} }] });
    const pbx = h.fx.pbx('pbx1');
    await pbx.stop();
    await h.fx.waitServerState('pbx1', 'down');
    let e = await scrape(h);
    expect(valueOf(e, 'amiplex_server_up', { server: 'pbx1' })).toBe(0);
    expect(valueOf(e, 'amiplex_server_reconnects_total', { server: 'pbx1' })).toBe(0);
    await pbx.start();
    await h.fx.waitServerState('pbx1', 'up');
    e = await scrape(h);
    expect(valueOf(e, 'amiplex_server_up', { server: 'pbx1' })).toBe(1);
    expect(valueOf(e, 'amiplex_server_reconnects_total', { server: 'pbx1' })).toBe(1);
  });
});

describe('who may read /metrics', () => {
  it('refuses an address outside metrics_permit with 403 and a reason, logged once; actions are unaffected', async () => {
    const h = await startHttpFixture({ general: { metrics_permit: '10.0.0.0/8' } });
    const res = await h.get('/metrics');
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.body).toBe('127.0.0.1 may not read /metrics (metrics_permit)\n');
    const refused = h.fx.logs.filter((l) => l.includes('"path":"/metrics"'));
    expect(refused).toHaveLength(1);
    expect(JSON.parse(refused[0]!)).toMatchObject({ level: 30, msg: 'http request refused', status: 403 });
    expect((await h.get('/rawman?Action=Ping', { auth: 'alice' })).status).toBe(200);
  });

  it('refuses IPv4 loopback when metrics_permit names only ::1', async () => {
    const h = await startHttpFixture({ general: { metrics_permit: '::1' } });
    expect((await h.get('/metrics')).status).toBe(403);
  });

  it('answers 405 to a method other than GET and HEAD', async () => {
    const h = await startHttpFixture();
    const res = await h.request('/metrics', { method: 'POST', body: '' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    const head = await h.request('/metrics', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  const ownAddress = Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;

  it.skipIf(ownAddress === undefined)('by default lets loopback in and refuses any other address', async () => {
    const h = await startHttpFixture({ general: { http: '0.0.0.0:0' } });
    expect((await httpRequest(h.port, '127.0.0.1', '/metrics')).status).toBe(200);
    const res = await httpRequest(h.port, ownAddress!, '/metrics');
    expect(res.status).toBe(403);
    expect(res.body).toContain(`${ownAddress} may not read /metrics`);
  });

  const hasIpv6Loopback = Object.values(os.networkInterfaces())
    .flat()
    .some((i) => i !== undefined && i.address === '::1');

  it.skipIf(!hasIpv6Loopback)('matches IPv4-mapped peers of a dual-stack listener as IPv4', async () => {
    const h = await startHttpFixture({ general: { http: '[::]:0', metrics_permit: '127.0.0.1' } });
    // The peer is ::ffff:127.0.0.1 on this socket.
    expect((await httpRequest(h.port, '127.0.0.1', '/metrics')).status).toBe(200);
    expect((await httpRequest(h.port, '::1', '/metrics')).status).toBe(403);
  });
});

describe('the router reports answer times', () => {
  const msg = (...headers: AmiHeader[]): AmiMessage => ({ headers });

  it('from register() to the final answer, by the clock it is given; never for timeouts or a lost PBX', () => {
    const seen: number[] = [];
    const r = new ActionRouter<string>({ idPrefix: 'amx-', server: 'pbx1', answered: (ms) => seen.push(ms) });
    const ping = r.register('alice', msg(['Action', 'Ping']), 5000, 1000);
    r.route(msg(['Response', 'Success'], ['ActionID', ping.proxyId]), 1042);
    const list = r.register('alice', msg(['Action', 'Status']), 5000, 2000);
    r.route(msg(['Response', 'Success'], ['ActionID', list.proxyId], ['EventList', 'start']), 2001);
    r.route(msg(['Event', 'Status'], ['ActionID', list.proxyId]), 2050);
    expect(seen).toEqual([42]);
    r.route(msg(['Event', 'StatusComplete'], ['ActionID', list.proxyId], ['EventList', 'Complete']), 2300);
    expect(seen).toEqual([42, 300]);
    r.register('alice', msg(['Action', 'Ping']), 100, 3000);
    expect(r.expire(4000)).toHaveLength(1);
    r.register('alice', msg(['Action', 'Ping']), 5000, 5000);
    expect(r.failAll('gone')).toHaveLength(1);
    expect(seen).toEqual([42, 300]);
    expect(r.registered).toBe(4);
  });
});
