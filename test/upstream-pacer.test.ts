/**
 * The pacing of what a PBX sends (src/upstream/upstream-pacer.ts), with a stand-in socket:
 * messages handled in order, a slice of time per turn of the event loop; a hold while every
 * client is behind, ended when they caught up; and the bound kept for Asterisk's writetimeout —
 * however long the clients stay behind, the socket is read again HOLD_MAX_MS after its last read.
 * (The same over real sockets: test/proxy-slow-client.test.ts, "every client behind".)
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { ClientPace } from '../src/clients/shared/client-pace.js';
import { HOLD_MAX_MS, RESCUE_SHARE, RESCUE_WINDOW_MS, SLICE_MS, UpstreamPacer } from '../src/upstream/upstream-pacer.js';
import { sleep, waitUntil } from '../bench/numbers.js';

/** A socket that only records whether it is paused, and when it was last resumed. */
class FakeSocket {
  paused = false;
  resumedAt: number[] = [];
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    this.resumedAt.push(performance.now());
  }
}

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('upstream pacer', () => {
  it('handles messages in order, a slice of time per turn, the socket paused while they wait', async () => {
    const socket = new FakeSocket();
    const handled: number[] = [];
    const pacer = new UpstreamPacer<number>(socket, (n) => {
      busy(1);
      handled.push(n);
    }, undefined);
    for (let i = 0; i < 40; i++) pacer.push(i);
    pacer.run();
    // One turn's slice: about SLICE_MS of 1 ms messages (checked every fourth), not all 40.
    expect(handled.length).toBeGreaterThanOrEqual(SLICE_MS - 1);
    expect(handled.length).toBeLessThanOrEqual(SLICE_MS + 4);
    expect(socket.paused).toBe(true);
    await waitUntil(() => handled.length === 40, 2000, 'every message handled');
    expect(handled).toEqual(Array.from({ length: 40 }, (_, i) => i));
    await sleep(5);
    expect(socket.paused).toBe(false);
  });

  it('holds while every write went to clients behind, and goes on once they caught up', async () => {
    const socket = new FakeSocket();
    const pace = new ClientPace();
    pace.fellBehind();
    const handled: number[] = [];
    const pacer = new UpstreamPacer<number>(socket, (n) => {
      handled.push(n);
      pace.wrote(true);
    }, pace);
    pacer.read();
    for (let i = 0; i < 20; i++) pacer.push(i);
    pacer.run();
    expect(handled).toEqual([0, 1, 2, 3]);
    expect(pacer.holding).toBe(true);
    expect(pacer.holds).toBe(1);
    expect(socket.paused).toBe(true);
    pace.released();
    await waitUntil(() => handled.length === 20, 1000, 'the rest handled');
    expect(handled).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(pacer.holding).toBe(false);
    expect(socket.paused).toBe(false);
  });

  it(`reads the socket again at most ${HOLD_MAX_MS} ms after its last read, however long the clients stay behind`, async () => {
    const socket = new FakeSocket();
    const pace = new ClientPace();
    pace.fellBehind(); // and never catches up
    let handled = 0;
    const pacer = new UpstreamPacer<number>(socket, () => {
      handled++;
      pace.wrote(true);
    }, pace);
    const reads: number[] = [];
    // The PBX always has more: each time the socket is resumed, one chunk comes (as a paused socket gives nothing).
    const read = (): void => {
      reads.push(performance.now());
      pacer.read();
      for (let i = 0; i < 8; i++) pacer.push(i);
      pacer.run();
    };
    const original = socket.resume.bind(socket);
    socket.resume = () => {
      original();
      setImmediate(() => {
        if (!socket.paused) read();
      });
    };
    read();
    await sleep(300);
    pacer.close();
    expect(pacer.holds).toBeGreaterThan(3);
    const gaps = reads.slice(1).map((t, i) => t - reads[i]!).sort((a, b) => a - b);
    // The median, not the largest: a loaded machine may fire a timer late now and then.
    expect(gaps[Math.floor(gaps.length / 2)], `gaps between reads: ${gaps.map((g) => g.toFixed(1)).join(', ')}`).toBeLessThan(HOLD_MAX_MS + 10);
    // Reading slowed down (a chunk per hold), it did not stop.
    expect(reads.length).toBeGreaterThan(300 / (HOLD_MAX_MS + 15));
    expect(reads.length).toBeLessThan(300 / (HOLD_MAX_MS / 2));
    expect(handled).toBeGreaterThan(0);
  });
});

describe('rescue holds', () => {
  it(`hold for a client at risk among clients ahead, for at most ${RESCUE_SHARE * 100}% of the time`, async () => {
    const socket = new FakeSocket();
    const pace = new ClientPace();
    pace.fellBehind(); // one client behind and over client_buffer, and it never catches up
    const pacer = new UpstreamPacer<number>(socket, () => {
      pace.wrote(true, true);
      pace.wrote(false);
      pace.wrote(false);
    }, pace);
    // Paused time, from the socket's side: holds (and the moments between slices, which are short).
    let pausedMs = 0;
    let pausedAt = -1;
    const pause = socket.pause.bind(socket);
    socket.pause = () => {
      if (!socket.paused) pausedAt = performance.now();
      pause();
    };
    const resume = socket.resume.bind(socket);
    socket.resume = () => {
      if (socket.paused) pausedMs += performance.now() - pausedAt;
      resume();
      setImmediate(() => {
        if (!socket.paused) read();
      });
    };
    // The PBX always has more, a chunk each time the socket is read.
    const read = (): void => {
      pacer.read();
      for (let i = 0; i < 8; i++) pacer.push(i);
      pacer.run();
    };
    const start = performance.now();
    read();
    await sleep(2 * RESCUE_WINDOW_MS);
    if (socket.paused) pausedMs += performance.now() - pausedAt;
    const elapsed = performance.now() - start;
    pacer.close();
    expect(pacer.holds).toBeGreaterThan(2);
    // Rescued: a good part of the share was used (two windows' worth at most, with a timer's slack)…
    expect(pausedMs).toBeGreaterThan(RESCUE_SHARE * elapsed * 0.5);
    // …and no more: reading went on the rest of the time (a client at capacity would hold it all).
    expect(pausedMs).toBeLessThan(RESCUE_SHARE * elapsed + 3 * HOLD_MAX_MS);
  });

  it('are not made for clients behind under client_buffer, nor while most writes go to clients behind (that is capacity)', () => {
    const pace = new ClientPace();
    pace.wrote(true);
    pace.wrote(false);
    pace.wrote(false);
    expect(pace.tally()).toBe('ahead');
    pace.wrote(true, true);
    pace.wrote(false);
    expect(pace.tally()).toBe('rescue');
    pace.wrote(true, true);
    pace.wrote(true);
    pace.wrote(false);
    expect(pace.tally()).toBe('capacity');
    // A new tally each time.
    expect(pace.tally()).toBe('ahead');
  });
});
