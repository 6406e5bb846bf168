/**
 * The simulated PBX as a load source: background call traffic at a rate, flood mode bounded by
 * the slowest reader, and its lifecycle (stop() like a crash, start() again on the same port).
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { AmiTestClient, eventNamed, header, isEvent, responseTo } from './helpers/ami-test-client.js';
import { startSim, loggedIn, useSimFixture } from './helpers/sim-fixture.js';

useSimFixture();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A raw reader that only counts bytes and `Event:` lines (cheaper than decoding at flood speed). */
async function counter(port: number): Promise<{ socket: net.Socket; bytes: () => number; events: () => number }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  let bytes = 0;
  let events = 0;
  let tail = '';
  socket.on('data', (d: Buffer) => {
    bytes += d.length;
    const text = tail + d.toString('latin1');
    let i = text.indexOf('\r\nEvent: ');
    while (i >= 0) {
      events++;
      i = text.indexOf('\r\nEvent: ', i + 1);
    }
    tail = text.slice(-10);
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write('Action: Login\r\nUsername: admin\r\nSecret: admin\r\n\r\n');
  await sleep(100);
  return { socket, bytes: () => bytes, events: () => events };
}

describe('background traffic', () => {
  it('honours the rate, roughly (events per second over two seconds)', async () => {
    const { port } = await startSim({ rate: 400 });
    const c = await loggedIn(port, 'on');
    await sleep(300);
    const from = c.messages.length;
    await sleep(2000);
    const n = c.count((m) => isEvent(m), from);
    expect(n).toBeGreaterThan(400 * 2 * 0.75);
    expect(n).toBeLessThan(400 * 2 * 1.25);
  });

  it('is made of realistic calls: PJSIP and Local channels, uniqueids, linkedids, full lifecycles', async () => {
    const { sim, port } = await startSim();
    const c = await loggedIn(port);
    // Flood runs the calls on a virtual clock: whole lifecycles in a moment.
    sim.flood(true);
    await c.waitFor(eventNamed('BridgeDestroy'), 10_000);
    sim.flood(false);
    await sleep(50);
    const events = c.filter((m) => isEvent(m));
    const names = new Set(events.map((m) => header(m, 'Event')));
    for (const e of ['Newchannel', 'Newstate', 'Newexten', 'VarSet', 'DialBegin', 'DialEnd', 'BridgeCreate', 'BridgeEnter', 'LocalBridge']) {
      expect(names).toContain(e);
    }
    const created = c.filter(eventNamed('Newchannel'));
    expect(created.some((m) => /^PJSIP\/1\d{3}-[0-9a-f]{8}$/.test(header(m, 'Channel')!))).toBe(true);
    expect(created.some((m) => /^Local\/1\d{3}@from-internal-[0-9a-f]{8};[12]$/.test(header(m, 'Channel')!))).toBe(true);
    for (const m of created) {
      expect(header(m, 'Uniqueid')).toMatch(/^\d{10}\.\d+$/);
      expect(header(m, 'Linkedid')).toMatch(/^\d{10}\.\d+$/);
    }
    // Every channel hung up was created first, and the table holds the rest.
    const live = new Set(created.map((m) => header(m, 'Channel')));
    for (const h of c.filter(eventNamed('Hangup'))) expect(live.has(header(h, 'Channel'))).toBe(true);
    const list = await c.list([
      ['Action', 'CoreShowChannels'],
      ['ActionID', 'csc'],
    ]);
    // Calls still in progress finish on the wall clock now: the list shows channels seen created.
    expect(list.items.length).toBeGreaterThan(0);
    const seen = new Set(c.messages.slice(0, list.response.index).filter(eventNamed('Newchannel')).map((m) => header(m, 'Channel')));
    for (const item of list.items) expect(seen.has(header(item, 'Channel'))).toBe(true);
    expect(sim.internalErrors).toEqual([]);
  });

  it('lets calls in progress finish after setRate(0), and starts no new ones', async () => {
    const { sim, port } = await startSim({ rate: 2000 });
    const c = await loggedIn(port, 'call');
    await sleep(500);
    sim.setRate(0);
    const before = c.count(eventNamed('Newchannel'));
    await sleep(300);
    // Dial legs and Local halves of calls already placed may still appear; no new callers.
    const newCallers = c
      .filter(eventNamed('Newchannel'))
      .slice(before)
      .filter((m) => header(m, 'Uniqueid') === header(m, 'Linkedid'));
    expect(newCallers).toEqual([]);
  });
});

describe('flood mode', () => {
  it('delivers as fast as the client reads', async () => {
    const { sim, port } = await startSim();
    const r = await counter(port);
    sim.flood(true);
    await sleep(1000);
    sim.flood(false);
    // Tens of thousands alone; the bound is low so a busy test machine passes too.
    expect(r.events()).toBeGreaterThan(5_000);
    expect(sim.internalErrors).toEqual([]);
    r.socket.destroy();
  });

  it('pauses while a session does not read, and resumes when it reads again', async () => {
    const { sim, port } = await startSim({ floodHighWaterMark: 64 * 1024 });
    const fast = await counter(port);
    const slow = await counter(port);
    slow.socket.pause();
    sim.flood(true);
    // Generation stalls once the slow session's buffers are full.
    let last = -1;
    const deadline = Date.now() + 5000;
    for (;;) {
      await sleep(200);
      const now = sim.stats.eventsGenerated;
      if (now === last) break;
      last = now;
      if (Date.now() > deadline) throw new Error(`flood never paused (${now} events generated)`);
    }
    await sleep(300);
    expect(sim.stats.eventsGenerated).toBe(last);
    const memory = process.memoryUsage().rss;
    slow.socket.resume();
    await sleep(500);
    expect(sim.stats.eventsGenerated).toBeGreaterThan(last + 5000);
    sim.flood(false);
    expect(fast.events()).toBeGreaterThan(0);
    expect(memory).toBeLessThan(1024 * 1024 * 1024);
    fast.socket.destroy();
    slow.socket.destroy();
  });

  it('encodes once: two sessions with the same mask get identical bytes', async () => {
    const { sim, port } = await startSim();
    const a = await counter(port);
    const b = await counter(port);
    const got: Buffer[][] = [[], []];
    a.socket.on('data', (d: Buffer) => got[0]!.push(d));
    b.socket.on('data', (d: Buffer) => got[1]!.push(d));
    sim.flood(true);
    await sleep(300);
    sim.flood(false);
    await sleep(200);
    const [x, y] = got.map((chunks) => Buffer.concat(chunks));
    expect(x!.length).toBeGreaterThan(100_000);
    expect(x!.equals(y!)).toBe(true);
    a.socket.destroy();
    b.socket.destroy();
  });
});

describe('lifecycle', () => {
  it('stop() drops every session at once; start() listens again on the same port, repeatedly', async () => {
    const { sim, port } = await startSim({ rate: 200 });
    for (let round = 0; round < 3; round++) {
      const c = await loggedIn(port, 'off');
      const d = await loggedIn(port, 'off');
      expect(sim.sessionCount).toBe(2);
      await c.action([
        ['Action', 'Originate'],
        ['Channel', 'Local/530@test'],
        ['Application', 'Wait'],
        ['Data', '30'],
        ['Async', 'true'],
      ]);
      await sim.stop();
      await Promise.all([c.waitClosed(), d.waitClosed()]);
      expect(sim.sessionCount).toBe(0);
      expect(sim.channels.size).toBe(0);
      await expect(AmiTestClient.connect(port, '127.0.0.1', { timeoutMs: 500 })).rejects.toThrow();
      const again = await sim.start();
      expect(again.port).toBe(port);
      expect(sim.address).toEqual({ host: '127.0.0.1', port });
    }
    const c = await loggedIn(port, 'off');
    const ping = await c.action([
      ['Action', 'Ping'],
      ['ActionID', 'after'],
    ]);
    expect(header(ping, 'Ping')).toBe('Pong');
  });

  it('counts actions, logins and events', async () => {
    const { sim, port } = await startSim();
    const c = await loggedIn(port);
    await c.action([['Action', 'Ping']]);
    await c.action([
      ['Action', 'UserEvent'],
      ['UserEvent', 'X'],
    ]);
    await c.waitFor(eventNamed('UserEvent'));
    expect(sim.stats.logins).toBe(1);
    expect(sim.stats.actions).toBe(3);
    expect(sim.stats.eventsGenerated).toBeGreaterThanOrEqual(2); // SuccessfulAuth, UserEvent
  });

  it('survives clients that vanish mid-action and mid-flood', async () => {
    const { sim, port } = await startSim({ rate: 1000 });
    for (let i = 0; i < 20; i++) {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => undefined);
      s.write('Action: Login\r\nUsername: admin\r\nSecret: admin\r\n\r\nAction: Originate\r\nChannel: Local/668@test\r\nApplication: Wait\r\n');
      setTimeout(() => s.destroy(), i * 5);
    }
    sim.flood(true);
    await sleep(300);
    sim.flood(false);
    const c = await loggedIn(port, 'off');
    const res = await c.action([
      ['Action', 'Ping'],
      ['ActionID', 'ok'],
    ]);
    expect(res).toBeDefined();
    expect(c.count(responseTo('ok'))).toBe(1);
    expect(sim.internalErrors).toEqual([]);
  });
});
