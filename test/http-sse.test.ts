/**
 * Server-Sent Events at /events, read by a real HTTP client (node's http.get): one JSON object
 * per event with an id sequence, resume with Last-Event-ID without a gap, filters, keep-alive
 * comments, and a slow reader bounded like a raw TCP client.
 *
 * The event bodies are parsed with JSON.parse: they depend on formats/json.ts (re-checked at
 * the end of the HTTP work).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sessionCookieOf, startHttpFixture, startHttpProxyWith, type SseClient } from './helpers/http-fixture.js';
import { stopAllFixtures, waitUntil } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

function ids(s: SseClient): number[] {
  return s.events.map((e) => Number(e.id));
}

describe('GET /events', () => {
  it('streams each event as one JSON object with an id, the Server header included', async () => {
    const h = await startHttpFixture();
    const s = await h.sse('/events', { auth: 'alice' });
    expect(s.response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(s.response.headers['cache-control']).toBe('no-cache, no-store');
    await h.get('/rawman?Action=UserEvent&UserEvent=Hello&Variable=a=1&Variable=b=2', { auth: 'alice' });
    await s.waitForCount(1);
    const [first] = s.objects();
    expect(first).toEqual({ Event: 'UserEvent', Privilege: 'user,all', UserEvent: 'Hello', Variable: ['a=1', 'b=2'], Server: 'pbx1' });
    expect(s.events[0]!.id).toMatch(/^\d+$/);
  });

  it('resumes with Last-Event-ID without a gap: every id after the last seen comes, none twice', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', sim: { rate: 400 } }], general: { sse_replay: 100_000 } });
    const first = await h.sse('/events', { auth: 'alice' });
    await first.waitForCount(30, 5000);
    first.close();
    const seen = ids(first);
    const last = seen.at(-1)!;
    // Events go on while it is away.
    await new Promise((r) => setTimeout(r, 300));
    const second = await h.sse('/events', { auth: 'alice', lastEventId: String(last) });
    await second.waitFor(() => second.events.length >= 150, 5000, 'the replay and new events');
    second.close();
    const resumed = ids(second);
    // Contiguous from last+1: nothing missed, nothing repeated (no filter: every event has a place).
    expect(resumed[0]).toBe(last + 1);
    expect(resumed).toEqual(resumed.map((_, i) => last + 1 + i));
    // And the first connection's ids were contiguous too.
    expect(seen).toEqual(seen.map((_, i) => seen[0]! + i));
    expect(second.objects().every((o) => o.Server === 'pbx1')).toBe(true);
  });

  it('an id older than the replay buffer: a ProxyEventsLost notice, then what is kept', async () => {
    const h = await startHttpFixture({ general: { sse_replay: 3 } });
    const live = await h.sse('/events', { auth: 'alice' });
    for (let i = 1; i <= 6; i++) await h.get(`/rawman?Action=UserEvent&UserEvent=E${i}`, { auth: 'alice' });
    await live.waitForCount(6);
    live.close();
    const liveIds = ids(live);
    const s = await h.sse('/events', { auth: 'alice', lastEventId: String(liveIds[0]) });
    await s.waitForCount(4);
    const [notice, ...rest] = s.objects();
    expect(notice).toEqual({
      Event: 'ProxyEventsLost', Privilege: 'system,all', LastEventID: String(liveIds[0]), Missed: '2', NextEventID: String(liveIds[3]),
    });
    expect(s.events[0]!.id).toBeUndefined();
    expect(rest.map((o) => o.UserEvent)).toEqual(['E4', 'E5', 'E6']);
    expect(ids(s).slice(1)).toEqual(liveIds.slice(3));
    // An id this amiplex never gave out (a previous run's): the notice says so, then live events.
    const future = await h.sse('/events', { auth: 'alice', lastEventId: '999999' });
    await future.waitForCount(1);
    expect(future.objects()[0]).toMatchObject({ Event: 'ProxyEventsLost', Missed: 'unknown', NextEventID: String(liveIds[5]! + 1) });
  });

  it('filters: event= (repeatable) and server=, and only servers the user may use', async () => {
    const h = await startHttpFixture({
      pbxes: [{ name: 'pbx1' }, { name: 'pbx2' }],
      users: [{ name: 'alice' }, { name: 'bob', servers: ['pbx2'] }],
    });
    const byName = await h.sse('/events?event=UserEvent&event=VarSet', { auth: 'alice' });
    const byServer = await h.sse('/events?server=pbx2', { auth: 'alice' });
    const bobs = await h.sse('/events', { auth: 'bob' });
    // A Newchannel, VarSets, … on pbx1; UserEvents on both.
    await h.get('/rawman?Action=Originate&Channel=Local/100@test&Application=Wait&Data=0&Async=true&Variable=F=1', { auth: 'alice' });
    await h.get('/rawman?Action=UserEvent&UserEvent=One&Server=pbx1', { auth: 'alice' });
    await h.get('/rawman?Action=UserEvent&UserEvent=Two&Server=pbx2', { auth: 'alice' });
    await byServer.waitForCount(1);
    await byName.waitFor(() => byName.objects().some((o) => o.UserEvent === 'Two'), 3000);
    await bobs.waitForCount(1);
    await new Promise((r) => setTimeout(r, 200));
    const names = new Set(byName.objects().map((o) => o.Event));
    expect([...names].sort()).toEqual(['UserEvent', 'VarSet']);
    expect(byServer.objects().map((o) => [o.Event, o.Server])).toEqual([['UserEvent', 'pbx2']]);
    expect(bobs.objects().map((o) => [o.Event, o.Server])).toEqual([['UserEvent', 'pbx2']]);

    await expect(h.sse('/events?server=pbx1', { auth: 'bob' })).rejects.toMatchObject({ status: 403 });
    await expect(h.sse('/events?server=nowhere', { auth: 'alice' })).rejects.toMatchObject({ status: 400 });
    await expect(h.sse('/events?color=red', { auth: 'alice' })).rejects.toMatchObject({ status: 400 });
    await expect(h.sse('/events', { auth: 'alice', lastEventId: 'abc' })).rejects.toMatchObject({ status: 400 });
    await expect(h.sse('/events')).rejects.toMatchObject({ status: 401 });
  });

  it('a cookie session opens a stream too; Logoff ends it', async () => {
    const h = await startHttpFixture();
    const cookie = sessionCookieOf(await h.get('/rawman?Action=Login&Username=alice&Secret=alice-secret'));
    const s = await h.sse('/events', { cookie });
    await h.get('/rawman?Action=UserEvent&UserEvent=Hi', { cookie });
    await s.waitForCount(1);
    await h.get('/rawman?Action=Logoff', { cookie });
    await s.waitFor(() => s.ended, 3000, 'the stream to end');
  });

  it("a cookie session's stream follows that session's Filter (even one sent after it opened); a Basic stream of the same user does not", async () => {
    const h = await startHttpFixture();
    const cookie = sessionCookieOf(await h.get('/rawman?Action=Login&Username=alice&Secret=alice-secret'));
    const filtered = await h.sse('/events', { cookie });
    const basic = await h.sse('/events', { auth: 'alice' });
    const added = await h.get('/rawman?Action=Filter&Operation=Add&Filter=UserEvent:%20Keep', { cookie });
    expect(added.body).toMatch(/^Response: Success\r\n/);
    await h.get('/rawman?Action=UserEvent&UserEvent=Drop', { cookie });
    await h.get('/rawman?Action=UserEvent&UserEvent=Keep', { cookie });
    await basic.waitForCount(2);
    await filtered.waitForCount(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(filtered.objects().map((o) => o.UserEvent)).toEqual(['Keep']);
    expect(basic.objects().map((o) => o.UserEvent)).toEqual(['Drop', 'Keep']);
    filtered.close();
    basic.close();
  });

  it('sends keep-alive comments', async () => {
    const p = await startHttpProxyWith({ sseKeepAliveMs: 100 });
    try {
      const s = await p.http.sse('/events', { auth: 'alice' });
      await s.waitFor(() => s.comments.filter((c) => c === 'keep-alive').length >= 2, 3000, 'keep-alive comments');
      expect(s.events).toEqual([]);
    } finally {
      await p.stop();
    }
  });

  it('a reader that stops reading is disconnected past client_buffer_max; the others keep their events', async () => {
    const h = await startHttpFixture({
      pbxes: [{ name: 'pbx1', sim: { rate: 0 } }],
      general: { client_buffer: '16K', client_buffer_max: '256K', slow_client_timeout: 30 },
    });
    const slow = await h.sse('/events', { auth: 'alice' });
    const fast = await h.sse('/events', { auth: 'alice' });
    slow.pause();
    const counters = h.fx.proxy.hub.counters;
    const before = counters.eventsIn;
    const sim = h.fx.pbx('pbx1').sim!;
    sim.setRate(5000);
    try {
      await waitUntil(() => h.fx.proxy.hub.counters.slowClientsDropped === 1, 15_000, 'the slow stream to be dropped');
    } finally {
      sim.setRate(0);
    }
    expect(h.fx.logs.filter((l) => l.includes('slow event stream disconnected'))).toHaveLength(1);
    // The other stream got every event amiplex received meanwhile, in order.
    await fast.waitFor(() => fast.events.length === counters.eventsIn - before, 5000, 'every event on the other stream');
    expect(fast.events.length).toBeGreaterThan(1000);
    expect(fast.ended).toBe(false);
    const fastIds = ids(fast);
    expect(fastIds).toEqual(fastIds.map((_, i) => fastIds[0]! + i));
  });

  it('counts against client_buffer_total with the raw AMI clients: together over it, the one with the most queued goes', async () => {
    // The stream follows pbx1 only and falls 5 MiB behind; then a raw AMI client stops reading
    // while only pbx2 has traffic. Neither reaches its own cap (8M): the two together reach the
    // budget of all clients (8M), and the stream, which has the most queued, goes.
    const h = await startHttpFixture({
      pbxes: [{ name: 'pbx1', sim: { rate: 0 } }, { name: 'pbx2', sim: { rate: 0 } }],
      general: { client_buffer: '16K', client_buffer_max: '8M', client_buffer_total: '8M', slow_client_timeout: 60 },
    });
    const stream = await h.sse('/events?server=pbx1', { auth: 'alice' });
    stream.pause();
    const budget = h.fx.proxy.hub.outputBudget;
    const pbx1 = h.fx.pbx('pbx1').sim!;
    const pbx2 = h.fx.pbx('pbx2').sim!;
    pbx1.setRate(10_000);
    try {
      await waitUntil(() => budget.total > 5 * 1024 * 1024, 15_000, 'the stream to fall 5 MiB behind');
    } finally {
      pbx1.setRate(0);
    }
    const streamHeld = budget.total;
    const raw = await h.fx.loggedIn('alice', 'on', 'raw');
    raw.pause();
    pbx2.setRate(10_000);
    try {
      await waitUntil(() => h.fx.proxy.hub.counters.slowClientsDropped === 1, 15_000, 'a client to be shed');
    } finally {
      pbx2.setRate(0);
    }
    const drops = h.fx.logs.filter((l) => l.includes('slow event stream disconnected') || l.includes('slow client disconnected'));
    expect(drops).toHaveLength(1);
    expect(drops[0]).toContain('slow event stream disconnected');
    expect(drops[0], drops[0]).toContain('client_buffer_total');
    expect(streamHeld, 'the stream alone stayed under its own cap').toBeLessThan(8 * 1024 * 1024);
    expect(raw.isOpen).toBe(true);
  });
});
