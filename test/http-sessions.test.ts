/** HTTP login sessions (src/clients/http/http-sessions.ts), with a clock passed in: no sockets. */
import { describe, expect, it } from 'vitest';
import { EVENT_CLASSES } from '../src/ami/event-classes.js';
import type { UserConfig } from '../src/config/index.js';
import { HttpSessionStore } from '../src/clients/http/http-sessions.js';
import { Outbound } from '../src/clients/shared/outbound.js';

const alice: UserConfig = { name: 'alice', secret: 's', servers: ['pbx1'], serverHeader: true, serverHeaderAnswers: false, status: false };

function event(n: number, server = 'pbx1', bits: number = EVENT_CLASSES.user): { server: string; out: Outbound } {
  return { server, out: new Outbound({ headers: [['Event', 'UserEvent'], ['N', String(n)]] }, server, bits) };
}

describe('HttpSessionStore', () => {
  it('a session lives timeout after its last use, and never expires while a request of it is open', () => {
    const store = new HttpSessionStore(1000);
    const s = store.create(alice, 0);
    expect(store.use(s.id, 900)).toBe(s);
    expect(store.use(s.id, 1800)).toBe(s);
    s.active = 1;
    expect(store.expire(10_000)).toEqual([]);
    s.active = 0;
    expect(store.expire(10_000)).toEqual([s]);
    expect(store.use(s.id, 10_001)).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('an expired session found on use is ended, its waiter woken and its streams closed', () => {
    const store = new HttpSessionStore(1000);
    const s = store.create(alice, 0);
    const calls: string[] = [];
    s.waiter = () => calls.push('waiter');
    s.onEnd.add(() => calls.push('stream'));
    expect(store.use(s.id, 5000)).toBeUndefined();
    expect(calls).toEqual(['waiter', 'stream']);
  });

  it('queues the events its user may see, bounded, oldest dropped and counted', () => {
    const store = new HttpSessionStore(1000, 3);
    const s = store.create(alice, 0);
    for (let i = 1; i <= 5; i++) s.offer(event(i));
    s.offer(event(99, 'pbx2'));
    expect(s.dropped).toBe(2);
    expect(s.take().map((e) => e.out.message.headers[1]![1])).toEqual(['3', '4', '5']);
    expect(s.dropped).toBe(0);
    s.eventMask = EVENT_CLASSES.call;
    s.offer(event(6));
    expect(s.queued).toBe(0);
  });

  it('past the per-user cap a new login ends that user\'s least recently used idle session', () => {
    const store = new HttpSessionStore(60_000, 10, 2);
    const a = store.create(alice, 0);
    const b = store.create(alice, 1);
    store.use(a.id, 5);
    const c = store.create(alice, 6);
    expect(store.use(b.id, 7)).toBeUndefined();
    expect(store.use(a.id, 7)).toBe(a);
    expect(store.use(c.id, 7)).toBe(c);
    expect(store.size).toBe(2);
  });
});
