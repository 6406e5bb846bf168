/**
 * Slow clients: a client that stops reading while the PBX floods events is disconnected once
 * its output has stayed over client_buffer for slow_client_timeout (or at once past
 * client_buffer_max), while a fast client keeps receiving at full rate and loses nothing, and
 * amiplex's memory stays bounded. A client that is only briefly slow is kept and loses nothing.
 * When every client is behind (the PBX outruns them all), amiplex reads the PBX slower instead:
 * nobody is dropped, nothing is lost. (Most clients behind, and the rescue of one at risk, over
 * a stand-in socket: test/upstream-pacer.test.ts; over real sockets: the benchmark's flood.)
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { AmiTestClient } from './helpers/ami-test-client.js';
import type { AmiClientSession } from '../src/clients/ami/ami-client-session.js';
import { FormatRegistry } from '../src/formats.js';
import { standardFormat } from '../formats/standard.js';
import { HOLD_MAX_MS } from '../src/upstream/upstream-pacer.js';
import { startFixture, stopAllFixtures, waitUntil, type ProxyFixture } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

/** amiplex's session for a test client (matched by the client's local port). */
function sessionOf(fx: ProxyFixture, c: AmiTestClient): AmiClientSession {
  const port = c.socket.localPort;
  for (const s of fx.proxy.hub.clients) if (s.remote.endsWith(`:${port}`)) return s;
  throw new Error(`no amiplex session for ${c.label} (port ${port})`);
}

/** Samples a counter over time, to measure rates over windows. */
class RateMeter {
  private readonly samples: Array<[number, number]> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly read: () => number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 20);
  }

  sample(): void {
    this.samples.push([Date.now(), this.read()]);
  }

  /** Per second, between two instants (the nearest samples inside the window). */
  rate(from: number, to: number): number {
    this.sample();
    const inside = this.samples.filter(([t]) => t >= from && t <= to);
    if (inside.length < 2) return NaN;
    const [t0, n0] = inside[0]!;
    const [t1, n1] = inside.at(-1)!;
    return t1 > t0 ? ((n1 - n0) * 1000) / (t1 - t0) : NaN;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Events per second of simulated traffic: a flood, yet leaving CPU for the test's own clients. */
const RATE = 10_000;

describe('a slow client', () => {
  it('is disconnected after slow_client_timeout while a fast client keeps its full rate and loses nothing', async () => {
    const fx = await startFixture({
      pbxes: [{ name: 'pbx1', sim: { rate: 0 } }],
      general: { client_buffer: '64K', client_buffer_max: '32M', slow_client_timeout: 0.5 },
    });
    const sim = fx.pbx('pbx1').sim!;
    const fast = await fx.loggedIn('alice', 'on', 'fast');
    fast.store = false;
    const eventsBefore = fx.proxy.hub.counters.eventsIn;
    const fastBefore = fast.received;
    const meter = new RateMeter(() => fast.received);
    const rss0 = process.memoryUsage().rss;
    try {
      sim.setRate(RATE);
      // Baseline: the fast client alone.
      await waitUntil(() => fast.received - fastBefore > 1000, 10_000, 'the traffic to reach the fast client');
      const base0 = Date.now();
      await waitUntil(() => Date.now() - base0 >= 500, 2000, 'a baseline window');
      const baseline = meter.rate(base0, Date.now());

      const slow = await fx.loggedIn('alice', 'on', 'slow');
      slow.pause();
      const session = sessionOf(fx, slow);
      let maxBuffered = 0;
      const probe = setInterval(() => (maxBuffered = Math.max(maxBuffered, session.buffered)), 5);
      let overAt = 0;
      let droppedAt = 0;
      try {
        await waitUntil(() => session.overSince !== undefined || session.isClosed, 10_000, 'the slow client to go over client_buffer');
        overAt = Date.now();
        await waitUntil(() => session.isClosed, 5000, 'amiplex to disconnect the slow client');
        droppedAt = Date.now();
      } finally {
        clearInterval(probe);
      }
      // Not before slow_client_timeout, and not much later (amiplex checks every 250 ms).
      expect(droppedAt - overAt).toBeGreaterThanOrEqual(400);
      expect(droppedAt - overAt).toBeLessThan(2500);
      const whileSlow = meter.rate(overAt, droppedAt);
      expect(whileSlow, `fast client: ${Math.round(baseline)} events/s alone, ${Math.round(whileSlow)} events/s beside the slow one`).toBeGreaterThan(baseline * 0.6);
      // Its output stayed bounded: far below client_buffer_max, about slow_client_timeout worth of traffic.
      expect(maxBuffered).toBeGreaterThan(64 * 1024);
      expect(maxBuffered).toBeLessThan(32 * 1024 * 1024);
      // The client sees the close once it reads again.
      slow.resume();
      await slow.waitClosed(5000);
      expect(fx.proxy.hub.counters.slowClientsDropped).toBe(1);
      expect(fx.logs.filter((l) => l.includes('slow client disconnected'))).toHaveLength(1);
      expect(fast.isOpen).toBe(true);

      // And the fast client goes on at full rate after the drop.
      const after0 = Date.now();
      await waitUntil(() => Date.now() - after0 >= 400, 2000, 'a window after the drop');
      const after = meter.rate(after0, Date.now());
      expect(after, `fast client: ${Math.round(baseline)} events/s alone, ${Math.round(after)} after the drop`).toBeGreaterThan(baseline * 0.6);
    } finally {
      sim.setRate(0);
      meter.stop();
    }
    // Nothing lost for the fast client: it got every event amiplex received.
    await waitUntil(
      () => fast.received - fastBefore === fx.proxy.hub.counters.eventsIn - eventsBefore,
      10_000,
      `the fast client to get every event (${fast.received - fastBefore} of ${fx.proxy.hub.counters.eventsIn - eventsBefore})`,
    );
    expect(fast.decodeErrors).toEqual([]);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(300 * 1024 * 1024);
  });

  it('is disconnected at once when its output passes client_buffer_max, and counted and logged once', async () => {
    const fx = await startFixture({
      pbxes: [{ name: 'pbx1', sim: { rate: 0 } }],
      general: { client_buffer: '16K', client_buffer_max: '256K', slow_client_timeout: 30 },
    });
    const sim = fx.pbx('pbx1').sim!;
    // A bystander that takes no events (under a full flood an in-process reader would itself be slow).
    const bystander = await fx.loggedIn('alice', 'off', 'bystander');
    const slow = await fx.loggedIn('alice', 'on', 'slow');
    slow.pause();
    const session = sessionOf(fx, slow);
    try {
      sim.flood(true);
      await waitUntil(() => session.isClosed, 5000, 'amiplex to disconnect the slow client');
      // Let the flood go on a little: a dropped client must not be counted again.
      const from = fx.proxy.hub.counters.eventsIn;
      await waitUntil(() => fx.proxy.hub.counters.eventsIn - from > 5000, 5000, 'more traffic after the drop');
    } finally {
      sim.flood(false);
    }
    slow.resume();
    await slow.waitClosed(5000);
    const ping = await bystander.action([['Action', 'Ping'], ['ActionID', 'still-here']]);
    expect(ping.headers[0]).toEqual(['Response', 'Success']);
    expect([...fx.proxy.hub.clients].map((c) => c.id)).toEqual([sessionOf(fx, bystander).id]);
    // One client dropped: one log line, one count.
    const drops = fx.logs.filter((l) => l.includes('slow client disconnected'));
    expect(drops.map((l) => (JSON.parse(l) as { client: number }).client), 'ids of the clients logged as dropped').toEqual([session.id]);
    expect(fx.proxy.hub.counters.slowClientsDropped).toBe(1);
  });

  it('over client_buffer_total together, the client with the most output queued goes first', async () => {
    // Each client's own cap (16M) is never reached: the budget for all of them (16M) is.
    const fx = await startFixture({
      pbxes: [{ name: 'pbx1', sim: { rate: 0 } }],
      general: { client_buffer: '16K', client_buffer_max: '16M', client_buffer_total: '16M', slow_client_timeout: 60 },
    });
    const sim = fx.pbx('pbx1').sim!;
    const bystander = await fx.loggedIn('alice', 'off', 'bystander');
    // Two clients stop reading; the first one falls behind earlier, so it has more queued.
    const first = await fx.loggedIn('alice', 'on', 'first');
    first.pause();
    const firstSession = sessionOf(fx, first);
    let secondSession: AmiClientSession | undefined;
    let largest = 0;
    try {
      // A steady rate (not a flood): the sum crosses the budget long before either client's own cap.
      sim.setRate(20_000);
      await waitUntil(() => firstSession.buffered > 2 * 1024 * 1024, 10_000, 'the first client to fall 2 MiB behind');
      const second = await fx.loggedIn('alice', 'on', 'second');
      second.pause();
      secondSession = sessionOf(fx, second);
      const probe = setInterval(() => (largest = Math.max(largest, firstSession.buffered, secondSession!.buffered)), 5);
      try {
        await waitUntil(() => firstSession.isClosed, 15_000, 'amiplex to shed a client over client_buffer_total');
      } finally {
        clearInterval(probe);
      }
    } finally {
      sim.setRate(0);
    }
    expect(secondSession!.isClosed).toBe(false);
    expect(largest, 'no client reached its own cap').toBeLessThan(16 * 1024 * 1024);
    const drops = fx.logs.filter((l) => l.includes('slow client disconnected'));
    expect(drops.map((l) => (JSON.parse(l) as { client: number; reason: string }).client)).toEqual([firstSession.id]);
    expect(drops[0]).toContain('client_buffer_total');
    expect(fx.proxy.hub.counters.slowClientsDropped).toBe(1);
    const ping = await bystander.action([['Action', 'Ping'], ['ActionID', 'still-here']]);
    expect(ping.headers[0]).toEqual(['Response', 'Success']);
  });

  it('is kept, and loses nothing, when it catches up within slow_client_timeout', async () => {
    const fx = await startFixture({
      pbxes: [{ name: 'pbx1', sim: { rate: 0 } }],
      general: { client_buffer: '64K', client_buffer_max: '64M', slow_client_timeout: 3 },
    });
    const sim = fx.pbx('pbx1').sim!;
    const lagging = await fx.loggedIn('alice', 'on', 'lagging');
    lagging.store = false;
    const before = lagging.received;
    const eventsBefore = fx.proxy.hub.counters.eventsIn;
    const session = sessionOf(fx, lagging);
    lagging.pause();
    try {
      sim.flood(true);
      await waitUntil(() => session.overSince !== undefined, 10_000, 'the client to go over client_buffer');
    } finally {
      sim.flood(false);
    }
    lagging.resume();
    await waitUntil(
      () => lagging.received - before === fx.proxy.hub.counters.eventsIn - eventsBefore && session.buffered === 0,
      10_000,
      `the lagging client to catch up (${lagging.received - before} of ${fx.proxy.hub.counters.eventsIn - eventsBefore})`,
    );
    expect(lagging.isOpen).toBe(true);
    expect(fx.proxy.hub.counters.slowClientsDropped).toBe(0);
    expect(session.overSince).toBeUndefined();
    lagging.store = true;
    const ping = await lagging.action([['Action', 'Ping'], ['ActionID', 'alive']]);
    expect(ping.headers[0]).toEqual(['Response', 'Success']);
  });
});

describe('every client behind', () => {
  it('slows down reading the PBX (holds its socket, then reads on) instead of dropping anyone; nothing is lost', async () => {
    const fx = await startFixture({
      pbxes: [{ name: 'pbx1', sim: { rate: 0 } }],
      general: { client_buffer: '64K', client_buffer_max: '64M', slow_client_timeout: 5 },
    });
    const sim = fx.pbx('pbx1').sim!;
    const session = fx.proxy.hub.servers.get('pbx1')!.session;
    const pace = fx.proxy.hub.outputBudget.pace;
    // One client: every client behind is this one behind. (With several, the kernel decides when
    // each is: over loopback it takes up to tens of megabytes of a paused client's output before
    // its socket refuses anything, and one client's fill up seconds after another's.)
    const client = await fx.loggedIn('alice', 'on', 'c1');
    const before = client.received;
    const eventsBefore = fx.proxy.hub.counters.eventsIn;
    client.store = false;
    let pausedIntake = 0;
    let pausedReads = 0;
    let pausedMs = 0;
    let freeReads = 0;
    let freeMs = 0;
    try {
      sim.flood(true);
      await waitUntil(() => fx.proxy.hub.counters.eventsIn - eventsBefore > 20_000, 10_000, 'the flood to reach the client');
      // While the client reads, the flood is read in many more chunks than a hold lets through.
      const readsFree = session.chunksRead;
      const freeFrom = performance.now();
      await sleep(300);
      freeReads = session.chunksRead - readsFree;
      freeMs = performance.now() - freeFrom;
      // The client stops reading: the kernel's buffers fill, then amiplex's, and it is behind.
      client.pause();
      const holdsBefore = session.holds;
      await waitUntil(() => pace.clientsBehind === 1, 10_000, 'the client to be behind');
      // The kernel may still take a last gulp and show it caught up for a moment (and a second
      // after its socket last took anything it stalls): what counts is the longest stretch behind.
      const samples: { at: number; behind: number; reads: number; eventsIn: number }[] = [];
      const sample = () => samples.push({ at: performance.now(), behind: pace.clientsBehind, reads: session.chunksRead, eventsIn: fx.proxy.hub.counters.eventsIn });
      const sampler = setInterval(sample, 2);
      sample();
      await sleep(500);
      clearInterval(sampler);
      sample();
      const stretch = longestStretch(samples, (x) => x.behind === 1);
      expect(stretch).toBeDefined();
      const [first, last] = stretch!;
      pausedMs = last.at - first.at;
      expect(pausedMs, 'the longest stretch behind (ms)').toBeGreaterThanOrEqual(150);
      pausedReads = last.reads - first.reads;
      pausedIntake = last.eventsIn - first.eventsIn;
      expect(session.holds).toBeGreaterThan(holdsBefore);
      client.resume();
      // Reading goes on at the client's pace once it reads again.
      const resumed = fx.proxy.hub.counters.eventsIn;
      await waitUntil(() => fx.proxy.hub.counters.eventsIn - resumed > 20_000, 10_000, 'events to keep coming after the hold');
    } finally {
      sim.flood(false);
      client.resume();
    }
    // Held, amiplex still reads the PBX (Asterisk's writetimeout is never reached), but one chunk
    // each HOLD_MAX_MS at most (a flood left alone is read as fast as it comes: hundreds a second).
    expect(pausedIntake).toBeGreaterThan(0);
    expect(pausedReads).toBeGreaterThan(0);
    expect(pausedReads).toBeLessThanOrEqual(Math.ceil(pausedMs / HOLD_MAX_MS) + 1);
    expect(freeReads).toBeGreaterThan(2 * (Math.ceil(freeMs / HOLD_MAX_MS) + 1));
    expect(fx.proxy.hub.counters.slowClientsDropped).toBe(0);
    const taken = () => fx.proxy.hub.counters.eventsIn - eventsBefore;
    await waitUntil(() => client.received - before === taken(), 10_000, `the client to get every event (${client.received - before} of ${taken()})`);
    expect(client.isOpen).toBe(true);
  });
});

/** The first and last of the longest run of consecutive samples that pass `ok`. */
function longestStretch<T>(samples: readonly T[], ok: (s: T) => boolean): [T, T] | undefined {
  let best: [number, number] | undefined;
  let from = -1;
  for (let i = 0; i <= samples.length; i++) {
    if (i < samples.length && ok(samples[i]!)) {
      if (from < 0) from = i;
    } else if (from >= 0) {
      if (best === undefined || i - 1 - from > best[1] - best[0]) best = [from, i - 1];
      from = -1;
    }
  }
  return best && [samples[best[0]]!, samples[best[1]]!];
}

describe('fan-out', () => {
  it('encodes each event once per variant, not once per client', async () => {
    let encodedUserEvents = 0;
    const formats = new FormatRegistry().register({
      ...standardFormat,
      // Every event goes through encode (not the PBX's bytes by reference), to be counted.
      passthrough: false,
      encode(message) {
        if (message.headers[0]?.[0] === 'Event' && message.headers[0][1] === 'UserEvent') encodedUserEvents++;
        return standardFormat.encode(message);
      },
    });
    const fx = await startFixture({ formats });
    const watchers = await Promise.all(Array.from({ length: 30 }, (_, i) => fx.loggedIn('alice', 'on', `w${i}`)));
    const sender = await fx.loggedIn('alice', 'off', 'sender');
    for (let i = 0; i < 5; i++) await sender.action([['Action', 'UserEvent'], ['UserEvent', `Fan${i}`], ['ActionID', `f${i}`]]);
    await Promise.all(watchers.map((w) => w.waitForCount((m) => m.headers[0]?.[1] === 'UserEvent', 5, 3000)));
    // Per event: the sender's own copy (its ActionID) and one shared copy for the 30 others.
    expect(encodedUserEvents).toBeLessThanOrEqual(5 * 2);
  });
});
