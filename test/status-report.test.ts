/**
 * The status page's pure parts: the moving window of event rates, and the report built from the
 * hub's objects (src/status/).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import type { HubCounters } from '../src/hub.js';
import { RateWindow } from '../src/status/rate-window.js';
import { rateCounters, serverRateKey, statusReport, TOTAL_RATE_KEY, type ServerView, type StatusInput } from '../src/status/status-report.js';
import type { UpstreamStatus } from '../src/upstream/upstream-session.js';

const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('RateWindow', () => {
  it('has no rate until two samples carry the counter', () => {
    const w = new RateWindow(5000);
    expect(w.rate('a')).toBeUndefined();
    w.sample(1000, counts({ a: 10 }));
    expect(w.rate('a')).toBeUndefined();
    w.sample(2000, counts({ a: 10, b: 3 }));
    expect(w.rate('a')).toBe(0);
    expect(w.rate('b')).toBeUndefined();
  });

  it('is the growth per second between the oldest and newest sample in the window', () => {
    const w = new RateWindow(5000);
    for (let t = 0; t <= 5000; t += 1000) w.sample(t, counts({ a: t / 10 })); // 100 per second
    expect(w.rate('a')).toBe(100);
    // A burst: the window forgets the quiet start as time passes.
    w.sample(6000, counts({ a: 1500 }));
    expect(w.rate('a')).toBe((1500 - 100) / 5);
    w.sample(11_000, counts({ a: 1500 }));
    expect(w.rate('a')).toBe(0);
  });

  it('keeps the last two samples when sampling is slower than the window', () => {
    const w = new RateWindow(1000);
    w.sample(0, counts({ a: 0 }));
    w.sample(10_000, counts({ a: 50 }));
    expect(w.rate('a')).toBe(5);
  });

  it('ignores a sample from the past, and never gives a negative rate', () => {
    const w = new RateWindow(5000);
    w.sample(1000, counts({ a: 100 }));
    w.sample(500, counts({ a: 0 }));
    w.sample(2000, counts({ a: 40 }));
    expect(w.rate('a')).toBe(0);
    expect(() => new RateWindow(0)).toThrow(RangeError);
  });
});

const config = parseConfig(
  [
    '[server pbx1]',
    'host = 127.0.0.1',
    'username = admin',
    'secret = admin',
    '[server pbx2]',
    'host = ::1',
    'port = 5039',
    'username = admin',
    'secret = admin',
    '[user ops]',
    'secret = x',
    'servers = pbx1',
    'status = yes',
    'channels = PJSIP/1001, PJSIP/1002',
    'context = from-internal',
  ].join('\n'),
  'status.conf',
);

function status(name: string, host: string, port: number, state: UpstreamStatus['state'], extra: Partial<UpstreamStatus> = {}): UpstreamStatus {
  return { name, host, port, state, since: 1_000, amiVersion: undefined, lastError: undefined, reconnects: 0, ...extra };
}

const counters: HubCounters = {
  eventsIn: 300,
  eventsDelivered: 900,
  eventsDropped: 2,
  actionsForwarded: 7,
  failedLogins: 1,
  lockouts: { address: 0, user: 0 },
  slowClientsDropped: 0,
  floodingClientsDropped: 0,
  clientsConnected: 4,
  aclRefusedConnections: 0,
  refusedConnections: 0,
  eventsStreamed: 0,
  webSocketEvents: 0,
  webSocketsOpened: 1,
  webSocketsSlowClosed: 0,
};

function input(overrides: Partial<StatusInput> = {}): StatusInput {
  const servers: ServerView[] = [
    { name: 'pbx1', upSince: 10_000, eventsIn: 250, session: { status: status('pbx1', '127.0.0.1', 5038, 'up', { since: 10_000, amiVersion: '11.0.0', reconnects: 1 }) }, router: { size: 3 } },
    { name: 'pbx2', upSince: undefined, eventsIn: 50, session: { status: status('pbx2', '::1', 5039, 'down', { since: 55_000, lastError: 'connect ECONNREFUSED ::1:5039' }) }, router: { size: 0 } },
  ];
  return {
    version: '9.9.9',
    startedAt: 0,
    now: 70_500,
    user: config.users[0]!,
    servers,
    clients: [
      { id: 7, remote: '127.0.0.1:40000', connectedAt: 60_000, user: { name: 'alice' }, format: { name: 'json' }, stats: { eventsSent: 120, eventsDropped: 2 }, buffered: 512 },
      { id: 8, remote: '127.0.0.1:40001', connectedAt: 70_000, user: undefined, format: { name: 'standard' }, stats: { eventsSent: 0, eventsDropped: 0 }, buffered: 0 },
    ],
    streams: [{ id: 3, remote: '127.0.0.1:40002', openedAt: 65_000, user: { name: 'ops' }, eventsSent: 80, buffered: 0 }],
    webSockets: [{ id: 5, remote: '127.0.0.1:40003', connectedAt: 68_000, user: { name: 'ops' }, envelope: 'amiws', stats: { eventsSent: 9 }, buffered: 0 }],
    counters,
    httpSessions: 2,
    rate: (key) => ({ [TOTAL_RATE_KEY]: 12.345, [serverRateKey('pbx1')]: 10.04 })[key],
    ...overrides,
  };
}

describe('statusReport', () => {
  it('reports amiplex, every PBX with its state, address, uptime and rate, whatever the asking user may use', () => {
    const r = statusReport(input());
    expect(r.amiplex).toEqual({ version: '9.9.9', startedAt: new Date(0).toISOString(), uptimeS: 70, now: new Date(70_500).toISOString() });
    expect(r.servers).toEqual([
      {
        name: 'pbx1',
        state: 'up',
        amiVersion: '11.0.0',
        host: '127.0.0.1',
        port: 5038,
        address: '127.0.0.1:5038',
        stateSince: new Date(10_000).toISOString(),
        upSince: new Date(10_000).toISOString(),
        uptimeS: 60,
        eventsIn: 250,
        eventsPerSecond: 10,
        reconnects: 1,
        pendingActions: 3,
        lastError: null,
      },
      {
        name: 'pbx2',
        state: 'down',
        amiVersion: null,
        host: '::1',
        port: 5039,
        address: '[::1]:5039',
        stateSince: new Date(55_000).toISOString(),
        upSince: null,
        uptimeS: null,
        eventsIn: 50,
        eventsPerSecond: null,
        reconnects: 0,
        pendingActions: 0,
        lastError: 'connect ECONNREFUSED ::1:5039',
      },
    ]);
  });

  it('lists raw AMI clients (before login too), event streams and WebSockets, and totals', () => {
    const r = statusReport(input());
    expect(r.clients).toEqual([
      { kind: 'ami', id: 7, user: 'alice', remote: '127.0.0.1:40000', format: 'json', eventsSent: 120, eventsDropped: 2, buffered: 512, connectedAt: new Date(60_000).toISOString(), connectedS: 10 },
      { kind: 'ami', id: 8, user: null, remote: '127.0.0.1:40001', format: 'standard', eventsSent: 0, eventsDropped: 0, buffered: 0, connectedAt: new Date(70_000).toISOString(), connectedS: 0 },
      { kind: 'sse', id: 3, user: 'ops', remote: '127.0.0.1:40002', format: 'sse', eventsSent: 80, eventsDropped: null, buffered: 0, connectedAt: new Date(65_000).toISOString(), connectedS: 5 },
      { kind: 'websocket', id: 5, user: 'ops', remote: '127.0.0.1:40003', format: 'amiws', eventsSent: 9, eventsDropped: null, buffered: 0, connectedAt: new Date(68_000).toISOString(), connectedS: 2 },
    ]);
    expect(r.totals).toEqual({
      eventsIn: 300,
      eventsPerSecond: 12.3,
      eventsDelivered: 900,
      eventsDropped: 2,
      actionsForwarded: 7,
      failedLogins: 1,
      slowClientsDropped: 0,
      amiClients: 2,
      eventStreams: 1,
      webSockets: 1,
      httpSessions: 2,
    });
  });

  it("says who asks: the user's servers, devices and forced context (null and empty when it has none)", () => {
    expect(statusReport(input()).me).toEqual({ name: 'ops', servers: ['pbx1'], channels: ['PJSIP/1001', 'PJSIP/1002'], context: 'from-internal' });
    const plain = parseConfig('[server pbx1]\nhost = h\nusername = u\nsecret = s\n[user bob]\nsecret = x\n', 'b.conf').users[0]!;
    expect(statusReport(input({ user: plain })).me).toEqual({ name: 'bob', servers: ['pbx1'], channels: [], context: null });
  });

  it('lists at most maxClients: past that, those with the most queued, then the most dropped, in their order; the rest counted', () => {
    const all = statusReport(input());
    expect(all.clientsOmitted).toBe(0);
    const two = statusReport(input({ maxClients: 2 }));
    expect(two.clients.map((x) => `${x.kind} ${x.id}`)).toEqual(['ami 7', 'ami 8']);
    expect(two.clientsOmitted).toBe(2);
    expect(two.totals).toMatchObject({ amiClients: 2, eventStreams: 1, webSockets: 1 });
    const one = statusReport(input({ maxClients: 1, streams: [{ id: 3, remote: 'r', openedAt: 0, user: { name: 'ops' }, eventsSent: 0, buffered: 4096 }] }));
    expect(one.clients.map((x) => `${x.kind} ${x.id}`)).toEqual(['sse 3']);
    expect(one.clientsOmitted).toBe(3);
  });

  it('samples every PBX counter and the total for the rate window', () => {
    expect(rateCounters(input().servers, counters)).toEqual(new Map([[TOTAL_RATE_KEY, 300], [serverRateKey('pbx1'), 250], [serverRateKey('pbx2'), 50]]));
  });
});
