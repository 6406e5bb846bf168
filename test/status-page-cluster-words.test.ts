/**
 * The words of the status page's cluster strip and PBX cards (src/web/cluster-words.ts, pure):
 * each NATS state with its "since when", reconnecting turning into unreachable after a lease
 * TTL, who holds a PBX (and that another node's PBX is only "last seen" without NATS), and how
 * another node's [server] sections differ. The browser test (status-page-cluster.test.ts) sees
 * them on a live cluster; the states it cannot catch in time are checked here.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { StatusReport as ServerStatusReport } from '../src/status/status-report.js';
import { heldHere, holderWords, natsWords, nodeWords } from '../src/web/cluster-words.js';
import type { ClusterReport, StatusReport as PageStatusReport } from '../src/web/types.js';

// The page's copy of /status.json's shape takes what amiplex sends (a compile error otherwise).
expectTypeOf<ServerStatusReport>().toExtend<PageStatusReport>();

/** 10:02:03 local time, as the page's clock shows it. */
const SINCE = new Date(2026, 0, 5, 10, 2, 3).getTime();
const at = (seconds: number) => SINCE + seconds * 1000;

function cluster(over: Partial<ClusterReport> = {}): ClusterReport {
  return {
    cluster: 'amiplex',
    node: 'a',
    nats: 'connected',
    natsServer: '10.0.0.7:4222',
    natsSince: SINCE,
    leaseTtl: 10,
    nodes: [],
    holders: { pbx1: 'a', pbx2: 'b', pbx3: '' },
    takeovers: 1,
    leasesLost: 0,
    ...over,
  };
}

describe('NATS in words', () => {
  it('connected: to which server, since when', () => {
    expect(natsWords(cluster(), at(65))).toEqual({ level: 'ok', state: 'connected', label: 'NATS connected', detail: 'to 10.0.0.7:4222 since 10:02:03' });
  });

  it('lost for less than a lease TTL: reconnecting, with what happens to the PBXes held here', () => {
    expect(natsWords(cluster({ nats: 'disconnected' }), at(4))).toEqual({
      level: 'warn',
      state: 'reconnecting',
      label: 'NATS reconnecting…',
      detail: 'lost 10.0.0.7:4222 at 10:02:03 (4s ago) · its PBX is served until its lease runs out',
    });
    expect(natsWords(cluster({ nats: 'disconnected', holders: { pbx1: 'a', pbx2: 'a' } }), at(9.9)).detail).toBe(
      'lost 10.0.0.7:4222 at 10:02:03 (9s ago) · its 2 PBXes are served until their leases run out',
    );
    expect(natsWords(cluster({ nats: 'disconnected', holders: { pbx1: 'b' } }), at(1)).detail).toBe('lost 10.0.0.7:4222 at 10:02:03 (1s ago) · no PBX held here');
  });

  it('lost for a lease TTL or more: unreachable since when, for how long', () => {
    expect(natsWords(cluster({ nats: 'disconnected' }), at(10))).toEqual({
      level: 'down',
      state: 'unreachable',
      label: 'NATS unreachable',
      detail: 'since 10:02:03 (for 10s) · retrying 10.0.0.7:4222 · other nodes as last seen',
    });
    expect(natsWords(cluster({ nats: 'disconnected', leaseTtl: 2 }), at(65)).detail).toBe('since 10:02:03 (for 1m 05s) · retrying 10.0.0.7:4222 · other nodes as last seen');
  });

  it('never reached since the start: connecting, then unreachable after a lease TTL', () => {
    expect(natsWords(cluster({ nats: 'connecting', holders: {} }), at(3))).toEqual({ level: 'warn', state: 'connecting', label: 'NATS connecting…', detail: 'to 10.0.0.7:4222 for 3s' });
    expect(natsWords(cluster({ nats: 'connecting', holders: {} }), at(30))).toEqual({
      level: 'down',
      state: 'unreachable',
      label: 'NATS unreachable',
      detail: 'since 10:02:03 (for 30s) · retrying 10.0.0.7:4222 · no PBX held until it answers',
    });
  });

  it('closed for good: says the node does not retry', () => {
    const w = natsWords(cluster({ nats: 'closed' }), at(1));
    expect(w).toMatchObject({ level: 'down', state: 'closed', label: 'NATS connection closed' });
    expect(w.detail).toBe('at 10:02:03, for good: this node does not retry (its log says why) · restart it');
  });

  it('counts the PBXes this node holds', () => {
    expect(heldHere(cluster())).toBe(1);
    expect(heldHere(cluster({ holders: { pbx1: 'b', pbx2: '' } }))).toBe(0);
  });
});

describe('who holds a PBX', () => {
  it('this node, another node, or none', () => {
    expect(holderWords('a', cluster())).toMatchObject({ kind: 'self', text: 'this node', stale: false });
    expect(holderWords('b', cluster())).toMatchObject({ kind: 'other', text: 'b', stale: false });
    expect(holderWords('', cluster())).toMatchObject({ kind: 'none', text: 'no node', stale: false });
    expect(holderWords(undefined, cluster())).toMatchObject({ kind: 'none', text: 'no node' });
  });

  it('another node while NATS is not connected: only as last seen', () => {
    for (const nats of ['disconnected', 'connecting', 'closed'] as const) {
      expect(holderWords('b', cluster({ nats }))).toMatchObject({ kind: 'other', text: 'b (last seen)', stale: true });
      expect(holderWords('a', cluster({ nats }))).toMatchObject({ kind: 'self', stale: false });
    }
  });
});

describe('the nodes', () => {
  const mine = ['pbx1', 'pbx2'];

  it('this node, and a node with the same [server] sections', () => {
    expect(nodeWords({ name: 'a', self: true, servers: mine, mismatch: false }, mine).text).toBe('a (this node)');
    expect(nodeWords({ name: 'b', self: false, servers: mine, mismatch: false }, mine).text).toBe('b');
  });

  it('a node with other [server] sections: what it has that this node lacks, and the reverse', () => {
    const w = nodeWords({ name: 'c', self: false, servers: ['pbx1', 'pbx9'], mismatch: true }, mine);
    expect(w.text).toBe('c: other servers, has pbx9 · lacks pbx2');
    expect(w.title).toBe("Node c's [server] sections differ from this node's (has pbx9 · lacks pbx2). Every node of a cluster must have the same; PBXes only some nodes know are held by those nodes.");
    expect(nodeWords({ name: 'c', self: false, servers: ['pbx1'], mismatch: true }, mine).text).toBe('c: other servers, lacks pbx2');
  });

  it('the same names with other settings', () => {
    expect(nodeWords({ name: 'c', self: false, servers: mine, mismatch: true }, mine).text).toBe('c: other servers, same names, other settings');
  });

  it('long lists are cut in the text, whole in the title', () => {
    const w = nodeWords({ name: 'c', self: false, servers: ['p1', 'p2', 'p3', 'p4', 'p5'], mismatch: true }, []);
    expect(w.text).toBe('c: other servers, has p1, p2, p3 and 2 more');
    expect(w.title).toContain('(has p1, p2, p3, p4, p5)');
  });
});
