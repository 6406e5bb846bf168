/**
 * Event fan-out: N counting clients, connected straight to the PBX or through amiplex, while
 * the PBX floods (generates as fast as its sessions read) or sends a steady rate.
 *
 * Rates are measured over a fixed window after a warm-up. Completeness is checked with two
 * marker events the PBX child publishes, one before the load starts and one after it stops:
 * every client must count exactly the events the PBX generated between them (what the PBX
 * sends after the end marker, calls still finishing, is not counted by anyone).
 */
import { performance } from 'node:perf_hooks';
import { cpuPercent, cpuReading } from './ipc.js';
import { fmtMs, machineBusyMs, mb, median, percentile, sleep } from './numbers.js';
import type { GcKindStats, ProbeTimes, ProxyChildStats, RelayChildStats, SimChildStats } from './protocol.js';
import { openCountingClients, PingClient, type CountingClient } from './raw-clients.js';
import { startTarget, type Log, type Scope, type Settings, type Target, type Via } from './setup.js';

/** The PBX floods (as fast as its sessions read), or sends a steady number of events per second. */
export type Load = { readonly kind: 'flood' } | { readonly kind: 'steady'; readonly rate: number };

export interface FanoutResult {
  readonly via: Via;
  readonly load: Load;
  readonly clients: number;
  /** Events per second each client received in the window, ascending. */
  readonly perClient: number[];
  readonly total: number;
  /** Events per second the PBX generated in the window. */
  readonly pbxRate: number;
  /** Events the PBX generated between the two markers, which every client must have received. */
  readonly expected: number;
  /** Σ over clients of (expected − received) where positive. */
  readonly dropped: number;
  /** Σ over clients of (received − expected) where positive: duplicates, which should never happen. */
  readonly extra: number;
  /** Clients whose count differs, or that never saw the end marker. */
  readonly wrongClients: number;
  readonly closedClients: number;
  /** CPU used during the window, % of one core (`proxy`: amiplex, or the bare relay); `other` is every other process on the machine. */
  readonly cpu: { sim: number; proxy: number | undefined; clients: number; other: number };
  readonly proxyRss: number | undefined;
  /** How long amiplex's event loop was blocked at most in the window (ms): how long any client's action may wait. */
  readonly proxyLoopDelayMaxMs: number | undefined;
  /** amiplex's event-loop delay p99 in the window (ms). */
  readonly proxyLoopDelayP99Ms: number | undefined;
  /**
   * Steady load only: the latency of the PBX's probe events (one each PROBE_MS) at one client in
   * LATENCY_SAMPLE in the window, and the round trips of Pings sent one after another meanwhile by one more
   * client (events on, as the others), ms.
   */
  readonly latency: Spread | undefined;
  readonly ping: Spread | undefined;
  /** Steady load through amiplex: the probes' age when amiplex fanned them out, and when those writes were done (ms). */
  readonly inside: { fannedOut: Spread; written: Spread } | undefined;
  /** Steady load: how late the PBX published each probe after it was due (its own busy time, part of the latency), ms. */
  readonly pbxLate: Spread | undefined;
  /** What went wrong, when something did. */
  readonly notes: string[];
}

/** Percentiles of a sample, ms. */
export interface Spread {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly samples: number;
}

export function spread(samples: number[]): Spread {
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), max: samples.at(-1) ?? Number.NaN, samples: samples.length };
}

const START_MARKER_TIMEOUT_MS = 20_000;
/** Event latency is measured on one client in this many. */
export const LATENCY_SAMPLE = 5;
let runSeq = 0;

export async function fanout(scope: Scope, via: Via, n: number, load: Load, s: Settings, log: Log): Promise<FanoutResult> {
  const tag = `${via}-${n}-${++runSeq}`;
  const runStart = performance.now();
  const t = await startTarget(scope, via, 0, s, `${load.kind === 'flood' ? 'fanout' : 'steady'}-${n}-${via}`);
  const clients = scope.track(await openCountingClients(t.port, t.credentials, n));

  // Start marker: from it on, each client counts every message.
  const start = await mark(t, clients, `${tag}-start`, START_MARKER_TIMEOUT_MS);
  const missed = clients.filter((c) => c.watching);
  if (missed.length > 0) throw new Error(`${missed.length} of ${n} clients did not receive the start marker (${missed[0]!.closeReason ?? 'still open'})`);
  const proxyIn0 = await start.proxyIn;
  const setupMs = performance.now() - runStart;

  // Under a steady load: how late events arrive, and how long an action waits, while it lasts.
  const probing = load.kind === 'steady';
  const pinger = probing ? scope.track([await PingClient.open(t.port, t.credentials)])[0] : undefined;

  await setLoad(t, load, true);
  await sleep(s.warmupMs);
  const latencies: number[] = [];
  const pings: number[] = [];
  let pinging: Promise<void> = Promise.resolve();
  let stopPinging = false;
  if (probing) {
    // Every LATENCY_SAMPLE-th client, spread over the fan-out's order: looking for probes in every
    // client's bytes would double what the measuring process does, and its own delays with it.
    clients.forEach((c, i) => {
      if (i % LATENCY_SAMPLE === 0) c.latencies = latencies;
    });
    await t.proxy?.request('probes', true);
    await t.sim.request('probes', true);
    pinging = (async () => {
      while (!stopPinging) pings.push(await pinger!.ping());
    })();
  }
  const window = await measureWindow(t, clients, s.windowMs);
  stopPinging = true;
  const pingFailure = await pinging.then(
    () => undefined,
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
  let inside: FanoutResult['inside'];
  let pbxLate: Spread | undefined;
  if (probing) {
    pbxLate = spread((await t.sim.request<number[]>('probes', false)) ?? []);
    const times = await t.proxy?.request<ProbeTimes>('probes', false);
    if (times) inside = { fannedOut: spread(times.fannedOut), written: spread(times.written) };
    for (const c of clients) c.latencies = undefined;
  }
  await setLoad(t, load, false);

  // End marker: what each client counted since the start marker must be what the PBX generated.
  const drainStart = performance.now();
  const end = await mark(t, clients, `${tag}-end`, s.drainTimeoutMs);
  const drainMs = performance.now() - drainStart;
  const expected = end.before - start.before - 1;
  const tally = tallyCounts(clients, expected);
  const proxyEnd = await t.proxy?.request<ProxyChildStats>('stats');

  const notes = tally.notes;
  if (pingFailure !== undefined) notes.push(`the Ping client failed after ${pings.length} Pings: ${pingFailure}`);
  if (probing && latencies.length === 0) notes.push('no probe event reached a client in the window');
  const proxyIn1 = await end.proxyIn;
  if (t.proxy) {
    if (proxyIn0 === undefined || proxyIn1 === undefined) notes.push('amiplex did not broadcast both markers');
    else if (proxyIn1 - proxyIn0 - 1 !== expected) notes.push(`amiplex took in ${proxyIn1 - proxyIn0 - 1} events between the markers, of the ${expected} the PBX sent`);
  }
  if (proxyEnd && proxyEnd.slowClientsDropped > 0) notes.push(`amiplex disconnected ${proxyEnd.slowClientsDropped} clients as slow${slowClientDetail(t)}`);
  if (proxyEnd && proxyEnd.upstream !== 'up') notes.push(`amiplex's PBX session is ${proxyEnd.upstream}`);
  const internal = (await t.sim.request<SimChildStats>('stats')).internalErrors;
  if (internal > 0) notes.push(`the simulated PBX reported ${internal} internal errors`);

  const result: FanoutResult = {
    via,
    load,
    clients: n,
    perClient: window.perClient,
    total: window.perClient.reduce((a, b) => a + b, 0),
    pbxRate: window.pbxRate,
    expected,
    dropped: tally.dropped,
    extra: tally.extra,
    wrongClients: tally.wrongClients,
    closedClients: clients.filter((c) => c.closed).length,
    cpu: window.cpu,
    proxyRss: window.proxyEnd?.rss,
    proxyLoopDelayMaxMs: window.proxyEnd?.loopDelayMaxMs,
    proxyLoopDelayP99Ms: window.proxyEnd?.loopDelayP99Ms,
    latency: probing ? spread(latencies) : undefined,
    ping: probing ? spread(pings) : undefined,
    inside,
    pbxLate,
    notes,
  };
  logRun(log, result, { setupMs, drainMs, totalMs: performance.now() - runStart, proxy: window.proxyEnd });
  await scope.release();
  return result;
}

/**
 * Has every client watch for the marker `tag`, has the PBX publish it, and waits (at most
 * `timeoutMs`) until every open client has seen it. Returns how many events the PBX had generated
 * before the marker, and — through amiplex — amiplex's count of events taken in at the marker.
 */
export async function mark(t: Pick<Target, 'sim' | 'proxy'>, clients: readonly CountingClient[], tag: string, timeoutMs: number): Promise<{ before: number; proxyIn: Promise<number | undefined> }> {
  for (const c of clients) c.watchFor(tag);
  // amiplex must be watching before the marker can reach it.
  await t.proxy?.request('watchMarker', tag);
  const proxyIn = t.proxy ? t.proxy.request<number>('markerSeen', tag, timeoutMs).catch(() => undefined) : Promise.resolve(undefined);
  const before = await t.sim.request<number>('mark', tag);
  const deadline = performance.now() + timeoutMs;
  while (clients.some((c) => c.watching && !c.closed) && performance.now() < deadline) await sleep(20);
  return { before, proxyIn };
}

async function setLoad(t: Target, load: Load, on: boolean): Promise<void> {
  if (load.kind === 'flood') await t.sim.request('flood', on);
  else await t.sim.request('rate', on ? load.rate : 0);
}

interface Window {
  readonly perClient: number[];
  readonly pbxRate: number;
  readonly cpu: FanoutResult['cpu'];
  readonly proxyEnd: ProxyChildStats | undefined;
}

/** Counts, PBX output and CPU of every process over `windowMs`. */
async function measureWindow(t: Target, clients: readonly CountingClient[], windowMs: number): Promise<Window> {
  const c0 = clients.map((c) => c.count);
  const t0 = performance.now();
  const main0 = cpuReading();
  const busy0 = machineBusyMs();
  const [sim0, proxy0, relay0] = await Promise.all([t.sim.request<SimChildStats>('stats'), t.proxy?.request<ProxyChildStats>('stats', true), t.relay?.request<RelayChildStats>('stats')]);
  await sleep(Math.max(0, windowMs - (performance.now() - t0)));
  const c1 = clients.map((c) => c.count);
  const t1 = performance.now();
  const main1 = cpuReading();
  const busy1 = machineBusyMs();
  const [sim1, proxy1, relay1] = await Promise.all([t.sim.request<SimChildStats>('stats'), t.proxy?.request<ProxyChildStats>('stats'), t.relay?.request<RelayChildStats>('stats')]);
  const dt = (t1 - t0) / 1000;
  const sim = cpuPercent(sim0.cpu, sim1.cpu);
  // The process between the PBX and the clients: amiplex, or the bare relay.
  const between = proxy0 && proxy1 ? [proxy0.cpu, proxy1.cpu] : relay0 && relay1 ? [relay0.cpu, relay1.cpu] : undefined;
  const proxy = between ? cpuPercent(between[0]!, between[1]!) : undefined;
  const main = cpuPercent(main0, main1);
  const machine = ((busy1 - busy0) / (t1 - t0)) * 100;
  return {
    perClient: clients.map((_, i) => (c1[i]! - c0[i]!) / dt).sort((a, b) => a - b),
    // Children's counters are read a little after t0 and t1; over seconds that is noise.
    pbxRate: (sim1.eventsGenerated - sim0.eventsGenerated) / dt,
    cpu: { sim, proxy, clients: main, other: Math.max(0, machine - sim - (proxy ?? 0) - main) },
    proxyEnd: proxy1,
  };
}

/** What amiplex logged about the last slow client it disconnected: how much output it had queued for it. */
function slowClientDetail(t: Target): string {
  const line = t.proxy?.stderrTail.split('\n').filter((l) => l.includes('slow client')).at(-1);
  if (line === undefined) return '';
  try {
    const entry = JSON.parse(line) as { msg?: string; buffered?: number };
    return typeof entry.buffered === 'number' ? ` (the last with ${mb(entry.buffered)} MB of output queued)` : '';
  } catch {
    return '';
  }
}

/** What a measuring client counted between the markers (raw or WebSocket). */
export interface MarkerCount {
  readonly count: number;
  readonly countAtMarker: number | undefined;
  readonly closeReason: string | undefined;
}

/** Each client against the events the PBX generated between the markers: what is missing, what is extra, and who. */
export function tallyCounts(clients: readonly MarkerCount[], expected: number): { dropped: number; extra: number; wrongClients: number; notes: string[] } {
  let dropped = 0;
  let extra = 0;
  let wrongClients = 0;
  for (const c of clients) {
    const got = c.countAtMarker ?? c.count;
    if (got !== expected || c.countAtMarker === undefined) wrongClients++;
    if (got < expected) dropped += expected - got;
    else extra += got - expected;
  }
  const notes: string[] = [];
  if (wrongClients > 0) {
    const noMarker = clients.filter((c) => c.countAtMarker === undefined);
    if (noMarker.length > 0) {
      const reasons = [...new Set(noMarker.map((c) => c.closeReason ?? 'still open'))].join('; ');
      notes.push(`${noMarker.length} clients did not receive the end marker (${reasons})`);
    }
    const counts = clients.map((c) => c.countAtMarker ?? c.count).sort((a, b) => a - b);
    notes.push(`counts between markers: min ${counts[0]}, median ${median(counts)}, max ${counts.at(-1)}; expected ${expected}`);
  }
  return { dropped, extra, wrongClients, notes };
}

/** `minor 38 up to 2.1 ms, major 1 up to 9.8 ms` */
function gcKinds(byKind: Record<string, GcKindStats>): string {
  return Object.entries(byKind)
    .map(([kind, k]) => `${kind} ${k.pauses} up to ${fmtMs(k.maxMs)} ms`)
    .join(', ');
}

function logRun(log: Log, r: FanoutResult, extra: { setupMs: number; drainMs: number; totalMs: number; proxy: ProxyChildStats | undefined }): void {
  const load = r.load.kind === 'steady' ? ` at ${r.load.rate} ev/s` : '';
  const cpu = `CPU PBX ${Math.round(r.cpu.sim)}%${r.cpu.proxy === undefined ? '' : ` ${r.via} ${Math.round(r.cpu.proxy)}%`} clients ${Math.round(r.cpu.clients)}% other ${Math.round(r.cpu.other)}%`;
  log(
    `  ${r.via.padEnd(7)} ${String(r.clients).padStart(4)} clients${load}: median ${Math.round(median(r.perClient))} ev/s per client, ` +
      `total ${Math.round(r.total)} ev/s, PBX ${Math.round(r.pbxRate)} ev/s; ${r.expected} events between markers, dropped ${r.dropped}` +
      `${r.extra ? `, extra ${r.extra}` : ''}; ${cpu}; set up in ${(extra.setupMs / 1000).toFixed(1)} s, drained in ${(extra.drainMs / 1000).toFixed(1)} s, ` +
      `${(extra.totalMs / 1000).toFixed(1)} s in all`,
  );
  if (r.latency && r.ping) {
    log(
      `    event latency p50 ${fmtMs(r.latency.p50)} ms, p99 ${fmtMs(r.latency.p99)} ms, max ${fmtMs(r.latency.max)} ms (${r.latency.samples} probes); ` +
        `Ping meanwhile p50 ${fmtMs(r.ping.p50)} ms, p99 ${fmtMs(r.ping.p99)} ms, max ${fmtMs(r.ping.max)} ms (${r.ping.samples} Pings)`,
    );
  }
  if (r.pbxLate) log(`    the PBX published probes after they were due by p50 ${fmtMs(r.pbxLate.p50)} ms, p99 ${fmtMs(r.pbxLate.p99)} ms, max ${fmtMs(r.pbxLate.max)} ms`);
  if (r.inside) {
    const { fannedOut: f, written: w } = r.inside;
    log(`    probes inside amiplex: age when fanned out p50 ${fmtMs(f.p50)} ms, p99 ${fmtMs(f.p99)} ms; when written p50 ${fmtMs(w.p50)} ms, p99 ${fmtMs(w.p99)} ms`);
  }
  const p = extra.proxy;
  if (p) {
    log(
      `    amiplex in the window: event-loop delay p99 ${fmtMs(p.loopDelayP99Ms)} ms, max ${fmtMs(p.loopDelayMaxMs)} ms; ` +
        `${p.gcPauses} GC pauses, ${fmtMs(p.gcMs)} ms in all, longest ${fmtMs(p.gcMaxMs)} ms (${gcKinds(p.gcByKind)}); ` +
        `PBX read held ${p.readHolds} times so far; at its end ${p.clientsBehind} clients behind, ` +
        `${mb(p.bufferedTotal)} MB queued for clients (largest ${mb(p.bufferedMax)} MB), RSS ${mb(p.rss)} MB`,
    );
  }
  for (const note of r.notes) log(`    ${note}`);
}
