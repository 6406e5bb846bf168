/**
 * Three amiplex nodes (real processes) in front of two simulated PBXes, sharing them through a
 * real nats-server with JetStream (each node through a relay the test can cut, to take NATS
 * away from one node). Every PBX's peak count of connections is checked after each step: never
 * two AMI sessions to one PBX, whatever happens to nodes or to NATS.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preferredNode } from '../src/cluster/rendezvous.js';
import type { SimulatedPbx } from '../src/sim/index.js';
import { PERM } from '../src/sim/permissions.js';
import { AmiTestClient, header, isEvent, type Received } from './helpers/ami-test-client.js';
import { startCli, stopAllCliProcesses, type CliProcess, type LogLine } from './helpers/cli-process.js';
import { httpRequest, SseClient, type SseEvent } from './helpers/http-fixture.js';
import { startNats, type NatsServer } from './helpers/nats-server.js';
import { parsePrometheusText, valueOf } from './helpers/prometheus-text.js';
import { startSim, waitUntil } from './helpers/proxy-fixture.js';
import { startRelay, type TcpRelay } from './helpers/tcp-relay.js';
import { WsTestClient } from './helpers/ws-client.js';

const TTL = 2;
const NODES = ['n1', 'n2', 'n3'];
const PBXES = ['pbx1', 'pbx2'];
const SSE_REPLAY = 50;

let nats: NatsServer;
const sims = new Map<string, SimulatedPbx>();
const nodes = new Map<string, CliProcess>();
const clients = new Map<string, AmiTestClient>();
const relays = new Map<string, TcpRelay>();
const AUTH = { Authorization: `Basic ${Buffer.from('alice:alice-secret').toString('base64')}` };

function config(node: string, simPorts: Map<string, number>): string {
  // A small SSE replay buffer: a resume older than it is served from the cluster's stream.
  const lines = ['[general]', 'listen = 127.0.0.1:0', 'http = 127.0.0.1:0', `sse_replay = ${SSE_REPLAY}`, 'auth_fail_delay = 0', 'action_timeout = 5', 'shutdown_timeout = 2', ''];
  for (const pbx of PBXES) {
    lines.push(`[server ${pbx}]`, 'host = 127.0.0.1', `port = ${simPorts.get(pbx)}`, 'username = admin', 'secret = admin', 'keepalive = 0', 'connect_timeout = 2', 'reconnect_min = 0.05', 'reconnect_max = 0.2', '');
  }
  lines.push('[user alice]', 'secret = alice-secret', 'status = yes', '', '[cluster]', `nats = nats://127.0.0.1:${relays.get(node)!.port}`, `node = ${node}`, 'name = test', `lease_ttl = ${TTL}`, '');
  return lines.join('\n');
}

async function client(node: string): Promise<AmiTestClient> {
  const c = await AmiTestClient.connect(nodes.get(node)!.port, '127.0.0.1', { label: node });
  await c.login('alice', 'alice-secret', 'on');
  return c;
}

/** The holder of each PBX as a node's ProxyListServers shows it, and its state. */
async function holders(c: AmiTestClient, id: string): Promise<Record<string, string>> {
  const list = await c.list([['Action', 'ProxyListServers'], ['ActionID', id]], 5000);
  return Object.fromEntries(list.items.map((m) => [header(m, 'Server')!, `${header(m, 'Node')}/${header(m, 'State')}`]));
}

let listSeq = 0;
/**
 * Waits until every PBX has exactly one session, held by the node of `alive` that rendezvous
 * hashing gives it (so no hand-over is still to come), and every node in `alive` agrees on it.
 */
async function settled(alive: readonly string[], timeoutMs = 20_000): Promise<Record<string, string>> {
  let seen: Record<string, string>[] = [];
  await waitUntil(() => [...sims.values()].every((s) => s.sessionCount === 1), timeoutMs, 'one session per PBX');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    seen = await Promise.all(alive.map((n) => holders(clients.get(n)!, `h${++listSeq}`)));
    const first = JSON.stringify(seen[0]);
    const agreed = seen.every((s) => JSON.stringify(s) === first);
    const allUp = PBXES.every((p) => seen[0]![p] === `${preferredNode(p, alive)}/up`);
    if (agreed && allUp) return Object.fromEntries(PBXES.map((p) => [p, seen[0]![p]!.split('/')[0]!]));
    if (Date.now() > deadline) throw new Error(`nodes do not agree on the holders: ${JSON.stringify(seen)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function peaks(): Record<string, number> {
  return Object.fromEntries([...sims].map(([n, s]) => [n, s.stats.peakSessions]));
}

function seqEvents(c: AmiTestClient, tag: string, server: string, from = 0): number[] {
  return c.filter((m) => isEvent(m, 'UserEvent') && header(m, 'UserEvent') === tag && header(m, 'Server') === server, from).map((m) => Number(header(m, 'N')));
}

function publishSeq(sim: SimulatedPbx, tag: string, n: number): void {
  sim.publish(Array.from({ length: n }, (_, i) => ({ cat: PERM.user, text: `Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: ${tag}\r\nN: ${i + 1}\r\n\r\n` })));
}

/** An SSE stream of every event on a node, resuming after `lastEventId` (header, or the `lastEventId=` parameter). */
function sse(node: string, lastEventId?: number, how: 'header' | 'query' = 'header'): Promise<SseClient> {
  const { host, port } = nodes.get(node)!.http[0]!;
  if (lastEventId === undefined) return SseClient.connect(port, host, '/events', AUTH);
  if (how === 'query') return SseClient.connect(port, host, `/events?lastEventId=${lastEventId}`, AUTH);
  return SseClient.connect(port, host, '/events', { ...AUTH, 'Last-Event-ID': String(lastEventId) });
}

/** A node's /metrics value (loopback may read them without logging in). */
async function metric(p: CliProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  const { host, port } = p.http[0]!;
  return valueOf(parsePrometheusText((await httpRequest(port, host, '/metrics')).body), name, labels);
}

/** The N of the UserEvents `tag` an SSE stream got, in order. */
function sseSeq(events: readonly SseEvent[], tag: string): number[] {
  return events.map((e) => JSON.parse(e.data) as Record<string, string>).filter((o) => o.UserEvent === tag).map((o) => Number(o.N));
}

describe('a cluster of three nodes sharing two PBXes through NATS', () => {
  beforeAll(async () => {
    nats = await startNats();
    for (const n of NODES) relays.set(n, await startRelay(nats.port));
    const ports = new Map<string, number>();
    for (const p of PBXES) {
      const { sim, port } = await startSim({ rate: 0 });
      sims.set(p, sim);
      ports.set(p, port);
    }
    await Promise.all(NODES.map(async (n) => nodes.set(n, await startCli(config(n, ports), 15_000))));
    for (const n of NODES) clients.set(n, await client(n));
  }, 60_000);

  afterAll(async () => {
    // CLUSTER_TEST_LOGS=DIR keeps every node's log there.
    if (process.env.CLUSTER_TEST_LOGS) for (const [n, p] of nodes) writeFileSync(`${process.env.CLUSTER_TEST_LOGS}/${n}.log`, p.stderr());
    await Promise.all([...clients.values()].map((c) => c.close()));
    await stopAllCliProcesses();
    await Promise.all([...sims.values()].map((s) => s.stop()));
    await Promise.all([...relays.values()].map((r) => r.close()));
    await nats?.destroy();
  });

  it('holds each PBX on one node, which every node names in ProxyListServers', async () => {
    const held = await settled(NODES);
    for (const p of PBXES) expect(NODES).toContain(held[p]);
    expect(peaks()).toEqual({ pbx1: 1, pbx2: 1 });
  }, 30_000);

  it('a node whose [server] sections differ is reported in the logs and /metrics of every node, and holds only what it alone knows', async () => {
    const before = await settled(NODES);
    const odd = await startCli(
      ['[general]', 'listen = 127.0.0.1:0', 'http = 127.0.0.1:0', '', '[server pbx3]', 'host = 127.0.0.1', 'port = 9', 'username = admin', 'secret = admin', 'reconnect_min = 1', '',
        '[user alice]', 'secret = alice-secret', '', '[cluster]', `nats = ${nats.url}`, 'node = odd', 'name = test', `lease_ttl = ${TTL}`, ''].join('\n'),
      15_000,
    );
    const mismatch = (l: LogLine) => l.level === 50 && String(l.msg).includes('has other [server] sections than this node');
    await nodes.get('n1')!.waitForLog((l) => mismatch(l) && l.node === 'odd', 10_000);
    await odd.waitForLog((l) => mismatch(l) && l.node === 'n1', 10_000);
    expect(await metric(nodes.get('n1')!, 'amiplex_cluster_node_config_mismatch', { node: 'odd' })).toBe(1);
    expect(await metric(nodes.get('n1')!, 'amiplex_cluster_node_config_mismatch', { node: 'n2' })).toBe(0);
    await odd.waitForLog((l) => l.msg === 'cluster: this node holds PBX pbx3 now', 10_000);
    odd.kill('SIGTERM');
    await odd.exited;
    expect(await settled(NODES)).toEqual(before);
    expect(peaks()).toEqual({ pbx1: 1, pbx2: 1 });
  }, 40_000);

  it('delivers every event of both PBXes to a client on each node, exactly once and in order', async () => {
    const from = new Map([...clients].map(([n, c]) => [n, c.messages.length]));
    publishSeq(sims.get('pbx1')!, 'Seq', 300);
    publishSeq(sims.get('pbx2')!, 'Seq', 300);
    const want = Array.from({ length: 300 }, (_, i) => i + 1);
    for (const [n, c] of clients) {
      await c.waitForCount((m) => isEvent(m, 'UserEvent') && header(m, 'UserEvent') === 'Seq', 600, 10_000, from.get(n));
      await new Promise((r) => setTimeout(r, 100)); // nothing more may follow
      for (const p of PBXES) expect(seqEvents(c, 'Seq', p, from.get(n)), `${n} ${p}`).toEqual(want);
    }
  }, 30_000);

  it('answers actions with the same ActionID from every node, on both PBXes, each to its sender', async () => {
    // Every node's client at once, each PBX in turn (one client cannot tell apart two answers with one ActionID).
    const answers = (
      await Promise.all(
        [...clients].map(async ([n, c]) => {
          const out = [];
          for (const p of PBXES) {
            const r = await c.action([['Action', 'Getvar'], ['Server', p], ['Variable', `V_${n}_${p}`], ['ActionID', 'same']], 5000);
            const list = await c.list([['Action', 'CoreShowChannels'], ['Server', p], ['ActionID', 'same-list']], 5000);
            out.push({ n, p, variable: header(r, 'Variable'), id: header(r, 'ActionID'), complete: header(list.complete, 'EventList') });
          }
          return out;
        }),
      )
    ).flat();
    expect(answers).toHaveLength(6);
    for (const a of answers) expect(a).toEqual({ n: a.n, p: a.p, variable: `V_${a.n}_${a.p}`, id: 'same', complete: 'Complete' });
    expect(peaks()).toEqual({ pbx1: 1, pbx2: 1 });
  }, 30_000);

  it('an SSE client (or a WebSocket) that reconnects to another node resumes where it was: nothing missing, nothing twice, from the stream when older than the buffer', async () => {
    await settled(NODES);
    const a = await sse('n1');
    publishSeq(sims.get('pbx1')!, 'Resume', 100);
    await a.waitFor(() => sseSeq(a.events, 'Resume').length === 100, 10_000, 'the first 100 events on n1');
    a.close();
    const lastId = Number(a.events.at(-1)!.id);
    // Away for ten times what a node's buffer keeps; a client on n2 shows when n2 has them all.
    const raw = clients.get('n2')!;
    const from = raw.messages.length;
    publishSeq(sims.get('pbx1')!, 'Away', SSE_REPLAY * 10);
    await raw.waitForCount((m) => isEvent(m, 'UserEvent') && header(m, 'UserEvent') === 'Away', SSE_REPLAY * 10, 10_000, from);
    const b = await sse('n2', lastId);
    // Live events while it still reads what it missed: they come after it, once.
    publishSeq(sims.get('pbx2')!, 'Live', 100);
    await b.waitFor(() => sseSeq(b.events, 'Live').length >= 100, 10_000, 'the missed and the live events on n2');
    expect(sseSeq(b.events, 'Away')).toEqual(Array.from({ length: SSE_REPLAY * 10 }, (_, i) => i + 1));
    expect(sseSeq(b.events, 'Live')).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    // Every event of the stream once, in order: the ids follow each other from where n1 left off, no ProxyEventsLost.
    const ids = b.events.map((e) => Number(e.id));
    expect(ids.every((id, i) => id === lastId + 1 + i), `ids ${ids.slice(0, 5).join(',')}… after ${lastId}`).toBe(true);
    // A WebSocket resumes the same way, from the same id: on n3, what it missed from the stream.
    const { host, port } = nodes.get('n3')!.http[0]!;
    const ws = await WsTestClient.connect({ host, port, basic: () => AUTH.Authorization }, `/ws?since=${lastId}`, { auth: 'alice' });
    const wsSeq = (tag: string) => ws.events('UserEvent').filter((f) => f.data?.UserEvent === tag).map((f) => Number(f.data?.N));
    await ws.waitFor(() => wsSeq('Live').length >= 100, 10_000, 'the missed events on a WebSocket of n3');
    expect([wsSeq('Away'), wsSeq('Live')]).toEqual([sseSeq(b.events, 'Away'), sseSeq(b.events, 'Live')]);
    expect(ws.ofType('event').map((f) => f.id)).toEqual(ids.slice(0, ws.ofType('event').length));
    ws.close();
    // A short absence, resumed on n3 with the lastEventId= parameter: from its buffer.
    await new Promise((r) => setTimeout(r, 100));
    b.close();
    publishSeq(sims.get('pbx1')!, 'Short', 10);
    await clients.get('n3')!.waitForCount((m) => isEvent(m, 'UserEvent') && header(m, 'UserEvent') === 'Short', 10, 10_000);
    const c = await sse('n3', Number(b.events.at(-1)!.id), 'query');
    await c.waitFor(() => sseSeq(c.events, 'Short').length >= 10, 10_000, 'the short absence on n3');
    expect(c.events.map((e) => Number(e.id))).toEqual(Array.from({ length: 10 }, (_, i) => Number(b.events.at(-1)!.id) + 1 + i));
    c.close();
  }, 30_000);

  it('a holder killed with SIGKILL: its PBXes move to the survivors within the TTL and a login; their clients stay and see Down then Up', async () => {
    const held = await settled(NODES);
    const victim = held.pbx1!;
    const survivors = NODES.filter((n) => n !== victim);
    const from = new Map(survivors.map((n) => [n, clients.get(n)!.messages.length]));
    const killedAt = Date.now();
    nodes.get(victim)!.kill('SIGKILL');
    await nodes.get(victim)!.exited;
    // An action sent to the dead holder is answered with an error naming the server, not left hanging.
    const asker = clients.get(survivors[0]!)!;
    const answer = await asker.action([['Action', 'Ping'], ['Server', 'pbx1'], ['ActionID', 'during']], 10_000);
    expect(header(answer, 'Response')).toBe('Error');
    expect(header(answer, 'Message')).toContain('pbx1');
    const now = await settled(survivors, 20_000);
    expect(survivors).toContain(now.pbx1);
    // From the kill to the new holder's session up, by its log: the TTL and a login (survivors look at the instant the lease runs out), with room for a loaded machine.
    const up = nodes.get(now.pbx1!)!.logs().find((l) => l.msg === 'PBX pbx1 is up' && Date.parse(String(l.time)) > killedAt)!;
    expect(Date.parse(String(up.time)) - killedAt).toBeLessThan(TTL * 1100 + 3000);
    for (const n of survivors) {
      const c = clients.get(n)!;
      expect(c.isOpen).toBe(true);
      const down = await c.waitFor((m) => isEvent(m, 'ProxyServerDown') && header(m, 'Server') === 'pbx1', 5000, from.get(n));
      await c.waitFor((m: Received) => isEvent(m, 'ProxyServerUp') && header(m, 'Server') === 'pbx1', 5000, down.index);
    }
    expect(peaks()).toEqual({ pbx1: 1, pbx2: 1 });
    clients.delete(victim);
    nodes.delete(victim);
  }, 40_000);

  it('NATS unreachable from one node: it says so (log, /metrics, status), serves what it holds until its lease runs out, another takes over; it rejoins', async () => {
    const alive = [...nodes.keys()];
    const held = await settled(alive);
    const cut = held.pbx1!;
    const rest = alive.filter((n) => n !== cut);
    const node = nodes.get(cut)!;
    const c = clients.get(cut)!;
    const from = { logs: node.logs().length, messages: c.messages.length };
    for (const s of sims.values()) s.stats.peakSessions = s.sessionCount;
    relays.get(cut)!.cut();
    // Until its lease runs out (¾ of the TTL) it still answers its own clients' actions to the PBX it holds.
    const answer = await c.action([['Action', 'Ping'], ['Server', 'pbx1'], ['ActionID', 'cut-off']], 5000);
    expect(header(answer, 'Response')).toBe('Success');
    await node.waitForLog((l) => String(l.msg).startsWith('cluster: NATS unreachable'), 5000, from.logs);
    // An action for a PBX the other node holds is refused at once: NATS would carry it only once back, too late.
    expect(held.pbx2).not.toBe(cut);
    const refused = await c.action([['Action', 'Ping'], ['Server', 'pbx2'], ['ActionID', 'elsewhere']], 2000);
    expect([header(refused, 'Response'), header(refused, 'Message')]).toEqual(['Error', 'Server pbx2 is not reachable: NATS is not connected']);
    expect(await metric(node, 'amiplex_cluster_nats_connected')).toBe(0);
    const status = JSON.parse((await httpRequest(node.http[0]!.port, node.http[0]!.host, '/status.json', { headers: AUTH })).body) as { cluster: { nats: string } };
    expect(status.cluster.nats).toBe('disconnected');
    // Its sessions close, then the other nodes hold everything; its clients stay and are told.
    await settled(rest, 20_000);
    expect(peaks()).toEqual({ pbx1: 1, pbx2: 1 });
    await node.waitForLog((l) => String(l.msg).startsWith('cluster: lease of PBX pbx1 lost'), 5000, from.logs);
    expect(c.isOpen).toBe(true);
    await c.waitFor((m) => isEvent(m, 'ProxyServerDown') && header(m, 'Server') === 'pbx1', 5000, from.messages);
    // NATS back: it rejoins, and gets its share again (handed over cleanly) once it has been back a TTL.
    relays.get(cut)!.restore();
    await settled(alive, 30_000);
    expect(await metric(node, 'amiplex_cluster_nats_connected')).toBe(1);
    expect(await metric(node, 'amiplex_cluster_nodes')).toBe(alive.length);
    expect(peaks()).toEqual({ pbx1: 1, pbx2: 1 });
  }, 60_000);

  it('NATS stopped: every node drops its AMI sessions before its leases can run out; restarted: the PBXes are held again and events flow', async () => {
    const alive = [...nodes.keys()];
    await settled(alive);
    for (const s of sims.values()) s.stats.peakSessions = s.sessionCount;
    await nats.stop();
    // No node can renew: every session is closed within the TTL, and no node takes over anything.
    await waitUntil(() => [...sims.values()].every((s) => s.sessionCount === 0), TTL * 1000 + 3000, 'every AMI session closed');
    expect(peaks()).toEqual({ pbx1: 1, pbx2: 1 });
    await nats.start();
    await settled(alive, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${alive.map((n) => `--- ${n}\n${nodes.get(n)!.stderr().split('\n').slice(-40).join('\n')}`).join('\n')}`);
    });
    expect(peaks()).toEqual({ pbx1: 1, pbx2: 1 });
    const from = new Map([...clients].map(([n, c]) => [n, c.messages.length]));
    publishSeq(sims.get('pbx1')!, 'After', 20);
    publishSeq(sims.get('pbx2')!, 'After', 20);
    for (const [n, c] of clients) {
      expect(c.isOpen).toBe(true);
      await c.waitForCount((m) => isEvent(m, 'UserEvent') && header(m, 'UserEvent') === 'After', 40, 10_000, from.get(n));
      for (const p of PBXES) expect(seqEvents(c, 'After', p, from.get(n))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    }
  }, 60_000);
});
