import { describe, expect, it } from 'vitest';
import { Lease, leaseTiming, type StepContext } from '../src/cluster/lease.js';
import { preferredNode, weight } from '../src/cluster/rendezvous.js';

const T = leaseTiming(3000); // renew at 1000, give up at 2250, claim grace 1000
const PREFERRED: StepContext = { mayClaim: true, preferred: 'a', handOver: false };
const OTHER: StepContext = { mayClaim: true, preferred: 'b', handOver: false };

function lease(now = 0): Lease {
  return new Lease('pbx.p1', 'a', 'inst-a', T, now);
}

describe('rendezvous hashing', () => {
  it('every node picks the same holder, whatever the order it lists the nodes in', () => {
    const servers = Array.from({ length: 50 }, (_, i) => `pbx${i}`);
    for (const s of servers) expect(preferredNode(s, ['a', 'b', 'c'])).toBe(preferredNode(s, ['c', 'a', 'b']));
  });

  it('spreads PBXes over the nodes, and a node leaving moves only its own', () => {
    const servers = Array.from({ length: 300 }, (_, i) => `pbx${i}`);
    const three = new Map(servers.map((s) => [s, preferredNode(s, ['a', 'b', 'c'])!]));
    for (const n of ['a', 'b', 'c']) expect([...three.values()].filter((v) => v === n).length).toBeGreaterThan(60);
    for (const s of servers) {
      const two = preferredNode(s, ['a', 'b'])!;
      if (three.get(s) !== 'c') expect(two).toBe(three.get(s));
    }
    expect(preferredNode('x', [])).toBeUndefined();
    expect(weight('a', 'x')).toBe(weight('a', 'x'));
  });
});

describe('a lease', () => {
  it('the preferred node claims a free lease at once (create); another waits for the grace period', () => {
    const mine = lease();
    expect(mine.step(0, PREFERRED)).toEqual({ kind: 'claim', revision: 0 });
    const other = lease();
    expect(other.step(0, OTHER)).toBeUndefined();
    expect(other.step(999, OTHER)).toBeUndefined();
    expect(other.step(1000, OTHER)).toEqual({ kind: 'claim', revision: 0 });
    expect(lease().step(0, { ...PREFERRED, mayClaim: false })).toBeUndefined();
    // The preferred node only just joined (it may claim from 800 on): the others wait a grace period after that.
    const late = lease();
    expect(late.step(1000, { ...OTHER, preferredFrom: 800 })).toBeUndefined();
    expect(late.step(1799, { ...OTHER, preferredFrom: 800 })).toBeUndefined();
    expect(late.step(1800, { ...OTHER, preferredFrom: 800 })).toEqual({ kind: 'claim', revision: 0 });
  });

  it('is held from the write, renewed every third of the TTL, and dropped at three quarters without renewal', () => {
    const l = lease();
    l.step(0, PREFERRED);
    expect(l.holding(10)).toBe(false);
    l.written(1, 5); // sent at 5, acknowledged later
    expect(l.holding(10)).toBe(true);
    expect(l.step(900, PREFERRED)).toBeUndefined();
    expect(l.step(1005, PREFERRED)).toEqual({ kind: 'renew', revision: 1 });
    expect(l.step(1100, PREFERRED)).toBeUndefined(); // one renewal at a time
    l.writeFailed(1500, false); // NATS did not answer: still held, tried again later
    expect(l.holding(1500)).toBe(true);
    expect(l.step(1799, PREFERRED)).toBeUndefined();
    expect(l.step(1800, PREFERRED)).toEqual({ kind: 'renew', revision: 1 });
    l.writeFailed(2000, false);
    expect(l.deadline).toBe(5 + 2250);
    expect(l.step(2254, PREFERRED)).toBeUndefined();
    expect(l.step(2255, PREFERRED)).toEqual({ kind: 'drop', reason: 'the lease could not be renewed in time' });
    expect(l.holding(2255)).toBe(false);
    expect(l.state).toBe('idle');
  });

  it('a renewal pushes the deadline from the moment it was sent', () => {
    const l = lease();
    l.step(0, PREFERRED);
    l.written(1, 0);
    l.step(1000, PREFERRED);
    l.written(2, 1000);
    expect(l.deadline).toBe(3250);
    expect(l.step(1500, PREFERRED)).toBeUndefined();
    l.markDirty(); // the session went up: tell the others now
    expect(l.step(1501, PREFERRED)).toEqual({ kind: 'renew', revision: 2 });
  });

  it('a renewal conflict loses the lease, unless the key holds our own unacknowledged write', () => {
    const l = lease();
    l.step(0, PREFERRED);
    l.written(1, 0);
    l.step(1000, PREFERRED);
    expect(l.writeFailed(1100, true, { record: { node: 'a', instance: 'inst-a' }, revision: 2 })).toBeUndefined();
    expect(l.holding(1100)).toBe(true);
    expect(l.step(1400, PREFERRED)).toEqual({ kind: 'renew', revision: 2 });
    expect(l.writeFailed(1300, true, { record: { node: 'b', instance: 'inst-b' }, revision: 3 })).toEqual({
      kind: 'drop', reason: 'its lease was taken (a renewal found another revision)',
    });
    expect(l.holding(1300)).toBe(false);
  });

  it('another instance writing the key while we hold it is a drop', () => {
    const l = lease();
    l.step(0, PREFERRED);
    l.written(1, 0);
    expect(l.observe({ node: 'a', instance: 'inst-a' }, 1, 10)).toBeUndefined();
    expect(l.observe({ node: 'a', instance: 'inst-a-restarted' }, 2, 20)?.kind).toBe('drop');
  });

  it('a key held by another node is left alone until a TTL after it was last seen, then created anew', () => {
    const l = lease();
    expect(l.othersExpiry).toBeUndefined();
    l.observe({ node: 'b', instance: 'inst-b' }, 7, 100);
    expect(l.isFree(3099)).toBe(false);
    expect(l.step(3099, PREFERRED)).toBeUndefined();
    // The instant the node looks again (ownership.ts sets a timer to it).
    expect(l.othersExpiry).toBe(3100);
    expect(l.step(3100, PREFERRED)).toEqual({ kind: 'claim', revision: 0 });
    l.writeFailed(3110, true); // still there after all: wait and see
    expect(l.state).toBe('idle');
    expect(l.step(3200, PREFERRED)).toBeUndefined();
    expect(l.step(3410, PREFERRED)).toEqual({ kind: 'claim', revision: 0 });
  });

  it('a release names the node it is handed to: that node takes it on its revision at once, others after the grace', () => {
    const b = new Lease('pbx.p1', 'b', 'inst-b', T, 0);
    b.observe({ node: '', instance: 'inst-a', to: 'b' }, 9, 100);
    expect(b.step(100, { mayClaim: true, preferred: 'c', handOver: false })).toEqual({ kind: 'claim', revision: 9 });
    const c = new Lease('pbx.p1', 'c', 'inst-c', T, 0);
    c.observe({ node: '', instance: 'inst-a', to: 'b' }, 9, 100);
    expect(c.step(100, { mayClaim: true, preferred: 'c', handOver: false })).toBeUndefined();
    expect(c.step(1100, { mayClaim: true, preferred: 'c', handOver: false })).toEqual({ kind: 'claim', revision: 9 });
  });

  it('hands over to the preferred node when told to, and is free once released', () => {
    const l = lease();
    l.step(0, PREFERRED);
    l.written(1, 0);
    expect(l.step(100, { mayClaim: true, preferred: 'b', handOver: true })).toEqual({ kind: 'handover', to: 'b' });
    expect(l.holding(100)).toBe(true); // until the session is stopped
    l.released('b', 2, 200);
    expect(l.holding(200)).toBe(false);
    expect(l.step(300, OTHER)).toBeUndefined(); // handed to b
  });

  it('takes back at once a record of its own that is still in the bucket (after giving up on it)', () => {
    const l = lease();
    l.observe({ node: 'a', instance: 'inst-a' }, 4, 50);
    expect(l.step(60, OTHER)).toEqual({ kind: 'claim', revision: 4 });
  });

  it('a claim that finds its own old record gone starts over with a create', () => {
    const l = lease();
    l.observe({ node: 'a', instance: 'inst-a' }, 4, 50);
    expect(l.step(60, OTHER)).toEqual({ kind: 'claim', revision: 4 });
    l.writeFailed(70, true, { record: undefined, revision: 0 }); // the key ran out meanwhile
    expect(l.step(400, PREFERRED)).toEqual({ kind: 'claim', revision: 0 });
  });

  it('the answer to a write that outlived a drop changes nothing', () => {
    const l = lease();
    l.step(0, PREFERRED);
    l.written(1, 0);
    expect(l.step(1000, PREFERRED)?.kind).toBe('renew');
    const stale = l.write;
    expect(l.step(2250, PREFERRED)?.kind).toBe('drop');
    expect(l.step(2600, PREFERRED)).toEqual({ kind: 'claim', revision: 1 }); // its own record, still there
    l.writeFailed(2700, false, undefined, stale); // the old renewal times out now
    expect(l.state).toBe('claiming');
    l.written(5, 2600);
    expect(l.holding(2800)).toBe(true);
  });
});
