/** The SSE replay buffer (src/clients/shared/event-replay.ts) and the SSE frame: pure. */
import { describe, expect, it } from 'vitest';
import { EventReplay } from '../src/clients/shared/event-replay.js';
import { sseFrame } from '../src/clients/sse/sse-feed.js';

describe('EventReplay', () => {
  it('ids run 1, 2, 3…; after(n) gives every kept event after n, oldest first', () => {
    const r = new EventReplay<string>(5);
    for (const x of ['a', 'b', 'c']) r.push(x);
    expect(r.lastId).toBe(3);
    expect(r.after(0)).toEqual({ entries: [{ id: 1, item: 'a' }, { id: 2, item: 'b' }, { id: 3, item: 'c' }], missed: 0, unknown: false });
    expect(r.after(2).entries.map((e) => e.item)).toEqual(['c']);
    expect(r.after(3)).toEqual({ entries: [], missed: 0, unknown: false });
  });

  it('keeps only the last `capacity` events and says how many an old id missed', () => {
    const r = new EventReplay<number>(3);
    for (let i = 1; i <= 10; i++) r.push(i * 10);
    expect(r.size).toBe(3);
    expect(r.after(7).entries.map((e) => e.id)).toEqual([8, 9, 10]);
    expect(r.after(7).missed).toBe(0);
    expect(r.after(4)).toMatchObject({ missed: 3 });
    expect(r.after(4).entries.map((e) => e.item)).toEqual([80, 90, 100]);
  });

  it('an id never given out is unknown (e.g. from before a restart)', () => {
    const r = new EventReplay<number>(3);
    r.push(1);
    expect(r.after(5)).toEqual({ entries: [], missed: 0, unknown: true });
    expect(r.after(-1).unknown).toBe(true);
  });

  it('capacity 0 keeps nothing but still numbers events', () => {
    const r = new EventReplay<number>(0);
    expect(r.push(1).id).toBe(1);
    expect(r.push(2).id).toBe(2);
    expect(r.after(0)).toEqual({ entries: [], missed: 2, unknown: false });
  });

  it('covers(n): every event after n is kept (what a resume can take from the buffer alone)', () => {
    const r = new EventReplay<number>(3);
    expect(r.covers(0)).toBe(true);
    for (let i = 1; i <= 10; i++) r.push(i);
    expect([6, 7, 9, 10, 11].map((n) => r.covers(n))).toEqual([false, true, true, true, false]);
    r.push(50, 50); // cluster mode: the stream's sequence jumped
    expect([10, 49, 50].map((n) => r.covers(n))).toEqual([false, true, true]);
  });

  it('wraps around many times without losing order', () => {
    const r = new EventReplay<number>(4);
    for (let i = 1; i <= 1003; i++) r.push(i);
    expect(r.after(998).entries.map((e) => e.item)).toEqual([1000, 1001, 1002, 1003]);
  });
});

describe('sseFrame', () => {
  it('id and data lines, the encoder\'s trailing newline dropped, a blank line after', () => {
    expect(sseFrame(7, Buffer.from('{"Event":"Hangup"}\n')).toString()).toBe('id: 7\ndata: {"Event":"Hangup"}\n\n');
  });

  it('an encoding that spans lines becomes several data lines; no id for a notice', () => {
    expect(sseFrame(undefined, Buffer.from('a\r\nb\n')).toString()).toBe('data: a\ndata: b\n\n');
  });
});
