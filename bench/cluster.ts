/**
 * The cluster (issue 11): first one amiplex without a cluster serving N clients from a PBX at a
 * steady rate; then, afresh, three amiplex nodes sharing a PBX through a real nats-server, the
 * same N clients spread over them. Measured in each: every client's rate (exact counts between
 * markers), how long events take from the PBX to a client (latency probes the PBX stamps with
 * the instant they were due) — the difference is what the NATS hop adds — and the CPU of each
 * process. Then the node holding the PBX is killed (SIGKILL) and the time until a survivor has
 * the PBX's session up again is taken.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { mark, tallyCounts } from './fanout.js';
import { cpuPercent, cpuReading, type BenchChild, type CpuReading } from './ipc.js';
import { startNats, type NatsServer } from './nats-server.js';
import { fmtMs, machineBusyMs, median, percentile, sleep } from './numbers.js';
import { BENCH_USER, PROBE_MS, type ProxyChildStats, type SimChildStats } from './protocol.js';
import { openCountingClients, type CountingClient } from './raw-clients.js';
import type { Log, Scope, Settings } from './setup.js';

/** The default lease_ttl (s): what a take-over waits for. */
const LEASE_TTL_S = 10;
/** Latency probes the PBX sends per second on average (part of its rate). */
export const PROBES_PER_S = 1000 / PROBE_MS;
const NODES = ['n1', 'n2', 'n3'];
const SINGLE = 'single';

/** One amiplex process of the run: a node of the cluster, or the single node. */
export interface ClusterNodeResult {
  readonly name: string;
  readonly holder: boolean;
  readonly clients: number;
  /** Events per second each of its clients received in the window, ascending. */
  readonly perClient: number[];
  readonly dropped: number;
  readonly extra: number;
  readonly wrongClients: number;
  /** ms from the PBX sending a probe to a client of this node receiving it, ascending. */
  readonly latencies: number[];
  /** % of one core in the window. */
  readonly cpu: number;
  /** How long its event loop was blocked at most in the window (ms). */
  readonly loopDelayMaxMs: number;
}

/** One phase: the single node, or the cluster, in front of a PBX of its own. */
export interface ClusterPhase {
  readonly pbxRate: number;
  readonly expected: number;
  readonly nodes: ClusterNodeResult[];
  /** % of one core in the window; `nats` undefined without a cluster (or off Linux). */
  readonly cpu: { sim: number; nats: number | undefined; clients: number; other: number };
}

export interface ClusterResult {
  readonly rate: number;
  readonly clients: number;
  readonly single: ClusterPhase;
  readonly cluster: ClusterPhase;
  readonly leaseTtl: number;
  /** SIGKILL of the holder → a survivor's session to the PBX up (ms); undefined when none took over in time. */
  readonly takeoverMs: number | undefined;
  readonly takenBy: string | undefined;
  /** Clients of the survivors that lost their connection in the take-over (should be 0). */
  readonly survivorsDisconnected: number;
  readonly notes: string[];
}

/** The processes and clients of one phase. */
interface Setup {
  readonly sim: BenchChild;
  readonly proxies: Map<string, BenchChild>;
  readonly groups: Map<string, CountingClient[]>;
  readonly nats: NatsServer | undefined;
  readonly holder: string | undefined;
}

export async function clusterRun(scope: Scope, clients: number, rate: number, s: Settings, log: Log): Promise<ClusterResult> {
  const notes: string[] = [];
  // The same clients on one node without a cluster, first: the figures to compare with.
  const alone = await setUp(scope, [SINGLE], clients, undefined, s);
  const single = await measure(alone, rate, s, 'single', notes);
  logPhase(log, single);
  await scope.release();

  const nats = await startNats();
  scope.atEnd(() => nats.killNow());
  const three = await setUp(scope, NODES, clients, nats, s);
  log(`  the cluster holds the PBX on ${three.holder}`);
  const cluster = await measure(three, rate, s, 'cluster', notes);
  logPhase(log, cluster);

  // The take-over: the holder killed; the first survivor with the PBX's session up.
  const holder = three.holder!;
  const survivors = NODES.filter((n) => n !== holder);
  const closed = (): number => survivors.reduce((a, n) => a + three.groups.get(n)!.filter((c) => c.closed).length, 0);
  const closedBefore = closed();
  const killedAt = performance.timeOrigin + performance.now();
  three.proxies.get(holder)!.killNow();
  const limit = LEASE_TTL_S * 3000;
  const taken = await Promise.any(survivors.map(async (n) => ({ node: n, at: await three.proxies.get(n)!.request<number>('heldAt', limit, limit + 5000) }))).catch(() => undefined);
  if (taken === undefined) notes.push(`no survivor held the PBX within ${limit / 1000} s of the holder's SIGKILL`);
  await sleep(500);
  const result: ClusterResult = {
    rate,
    clients,
    single,
    cluster,
    leaseTtl: LEASE_TTL_S,
    takeoverMs: taken === undefined ? undefined : taken.at - killedAt,
    takenBy: taken?.node,
    survivorsDisconnected: closed() - closedBefore,
    notes,
  };
  log(`  take-over: ${result.takeoverMs === undefined ? 'none' : `${Math.round(result.takeoverMs)} ms, by ${result.takenBy}`}; survivors' clients disconnected meanwhile: ${result.survivorsDisconnected}`);
  await scope.release();
  return result;
}

/** A PBX, the amiplex processes `names` (a cluster on `nats` when given) and `clients` clients spread over them. */
async function setUp(scope: Scope, names: readonly string[], clients: number, nats: NatsServer | undefined, s: Settings): Promise<Setup> {
  const profile = (who: string): string[] =>
    s.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${s.profileDir}`, `--cpu-prof-name=cluster-${who}.cpuprofile`];
  const sim = await scope.fork('simulated PBX', './sim-child.js', profile(nats === undefined ? 'single-pbx' : 'pbx'));
  const simPort = await sim.request<number>('start', { rate: 0 });
  const proxies = new Map<string, BenchChild>();
  for (const name of names) proxies.set(name, await scope.fork(`amiplex ${name}`, './proxy-child.js', profile(name)));
  const ports = new Map<string, number>();
  await Promise.all(
    names.map(async (name) => {
      const cluster = nats === undefined ? undefined : { nats: nats.url, node: name };
      ports.set(name, await proxies.get(name)!.request<number>('start', { simPort, ...BENCH_USER, cluster }, 30_000));
    }),
  );
  const holder = nats === undefined ? undefined : await waitForHolder(proxies, LEASE_TTL_S * 3000);
  const groups = new Map<string, CountingClient[]>();
  for (const [i, name] of names.entries()) {
    const n = Math.floor(clients / names.length) + (i < clients % names.length ? 1 : 0);
    groups.set(name, scope.track(await openCountingClients(ports.get(name)!, BENCH_USER, n)));
  }
  return { sim, proxies, groups, nats, holder };
}

/** The PBX at `rate` with latency probes: every client's rate and probe latencies, and CPU, over the window; counts checked between markers. */
async function measure(t: Setup, rate: number, s: Settings, tag: string, notes: string[]): Promise<ClusterPhase> {
  const all = [...t.groups.values()].flat();
  const target = { sim: t.sim, proxy: undefined };
  const start = await mark(target, all, `${tag}-start`, 30_000);
  const missed = all.filter((c) => c.watching);
  if (missed.length > 0) throw new Error(`${missed.length} of ${all.length} clients did not receive the start marker (${missed[0]!.closeReason ?? 'still open'})`);
  await t.sim.request('rate', rate - PROBES_PER_S);
  await t.sim.request('probes', true);
  await sleep(s.warmupMs);

  for (const c of all) c.latencies = [];
  const count0 = new Map(all.map((c) => [c, c.count]));
  const t0 = performance.now();
  /** Readings of every process; `reset`: amiplex's event-loop delay is measured afresh from then. */
  const read = async (reset: boolean): Promise<{ sim: SimChildStats; proxies: Map<string, ProxyChildStats>; main: CpuReading; busy: number; nats: number | undefined }> => {
    const [sim, ...stats] = await Promise.all([t.sim.request<SimChildStats>('stats'), ...[...t.proxies.values()].map((p) => p.request<ProxyChildStats>('stats', reset))]);
    const nats = t.nats === undefined ? undefined : processCpuMs(t.nats);
    return { sim: sim!, proxies: new Map([...t.proxies.keys()].map((n, i) => [n, stats[i]!])), main: cpuReading(), busy: machineBusyMs(), nats };
  };
  const r0 = await read(true);
  await sleep(Math.max(0, s.windowMs - (performance.now() - t0)));
  const count1 = new Map(all.map((c) => [c, c.count]));
  const r1 = await read(false);
  const dt = (r1.main.at - r0.main.at) / 1000;
  const latencies = new Map([...t.groups].map(([n, cs]) => [n, cs.flatMap((c) => c.latencies ?? []).sort((a, b) => a - b)]));
  for (const c of all) c.latencies = undefined;

  await t.sim.request('probes', false);
  await t.sim.request('rate', 0);
  const end = await mark(target, all, `${tag}-end`, s.drainTimeoutMs);
  const expected = end.before - start.before - 1;

  const nodes: ClusterNodeResult[] = [];
  for (const [name, clients] of t.groups) {
    const tally = tallyCounts(clients, expected);
    for (const note of tally.notes) notes.push(`${name}: ${note}`);
    nodes.push({
      name,
      holder: name === t.holder,
      clients: clients.length,
      perClient: clients.map((c) => (count1.get(c)! - count0.get(c)!) / dt).sort((a, b) => a - b),
      dropped: tally.dropped,
      extra: tally.extra,
      wrongClients: tally.wrongClients,
      latencies: latencies.get(name)!,
      cpu: cpuPercent(r0.proxies.get(name)!.cpu, r1.proxies.get(name)!.cpu),
      loopDelayMaxMs: r1.proxies.get(name)!.loopDelayMaxMs,
    });
  }
  const sim = cpuPercent(r0.sim.cpu, r1.sim.cpu);
  const nats = r0.nats === undefined || r1.nats === undefined ? undefined : ((r1.nats - r0.nats) / (r1.main.at - r0.main.at)) * 100;
  const clientsCpu = cpuPercent(r0.main, r1.main);
  const machine = ((r1.busy - r0.busy) / (r1.main.at - r0.main.at)) * 100;
  const proxies = nodes.reduce((a, n) => a + n.cpu, 0);
  return {
    pbxRate: (r1.sim.eventsGenerated - r0.sim.eventsGenerated) / dt,
    expected,
    nodes,
    cpu: { sim, nats, clients: clientsCpu, other: Math.max(0, machine - sim - proxies - clientsCpu - (nats ?? 0)) },
  };
}

function logPhase(log: Log, p: ClusterPhase): void {
  for (const n of p.nodes) {
    log(
      `  ${n.name}${n.holder ? ' (holder)' : ''}: ${n.clients} clients, median ${Math.round(median(n.perClient))} ev/s, latency p50 ${fmtMs(percentile(n.latencies, 50))} ms ` +
        `p99 ${fmtMs(percentile(n.latencies, 99))} ms (${n.latencies.length} probes), CPU ${Math.round(n.cpu)}%, event-loop delay max ${fmtMs(n.loopDelayMaxMs)} ms, dropped ${n.dropped}`,
    );
  }
  log(`    PBX ${Math.round(p.pbxRate)} ev/s; CPU PBX ${Math.round(p.cpu.sim)}% nats ${p.cpu.nats === undefined ? '–' : Math.round(p.cpu.nats)}% clients ${Math.round(p.cpu.clients)}% other ${Math.round(p.cpu.other)}%`);
}

/** Waits until exactly one node of the cluster holds the PBX with its session up; its name. */
async function waitForHolder(proxies: ReadonlyMap<string, BenchChild>, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const held = (await Promise.all(NODES.map(async (n) => ((await proxies.get(n)!.request<boolean>('holds')) ? n : undefined)))).filter((n) => n !== undefined);
    if (held.length === 1) return held[0]!;
    if (Date.now() > deadline) throw new Error(`no single node of the cluster holds the PBX after ${timeoutMs} ms (${held.join(', ') || 'none'})`);
    await sleep(100);
  }
}

/** CPU time (ms) the NATS server used so far, from /proc (Linux); undefined elsewhere. */
function processCpuMs(nats: NatsServer): number | undefined {
  if (nats.pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${nats.pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, fields 14 and 15 of the line, in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
