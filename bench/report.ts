/**
 * The benchmark's report: Markdown tables that can be pasted into the README as they are,
 * the issue's targets next to the figures, and the machine they were measured on.
 */
import { PROBES_PER_S, type ClusterPhase, type ClusterResult } from './cluster.js';
import type { FanoutResult } from './fanout.js';
import { runCpuText, serverUsPerRequest, type HttpActionsResult, type HttpCpu, type HttpRun, type SseResult } from './http.js';
import type { RssResult } from './memory.js';
import { fmtMs, machine, mb, median, percentile } from './numbers.js';
import type { RttResult } from './round-trip.js';
import type { Settings } from './setup.js';
import type { WsFanoutResult } from './websocket.js';

export interface ReportInput {
  readonly fan: readonly FanoutResult[];
  readonly steady: readonly FanoutResult[];
  readonly rtt: readonly RttResult[];
  readonly rss: RssResult | undefined;
  readonly http: HttpActionsResult | undefined;
  readonly sse: SseResult | undefined;
  readonly cluster: ClusterResult | undefined;
  /** Raw TCP, then WebSocket clients, the same number at the same steady rate. */
  readonly websocket: readonly WsFanoutResult[];
  readonly settings: Settings;
  readonly quick: boolean;
  readonly elapsedS: number;
  /** What went wrong through amiplex (findings). */
  readonly notes: readonly string[];
  /** Errors of the benchmark itself. */
  readonly problems: readonly string[];
}

const TARGET_CLIENTS = 100;
const TARGET_RATE = 10_000;
const TARGET_ADDED_P99_MS = 2;
/** Under the steady load: the slowest client, event latency and Ping round trip against direct in the same run. */
const TARGET_STEADY_MIN = 9_900;
const TARGET_EVENT_P99_OF_DIRECT = 2;
const TARGET_PING_P99_OF_DIRECT = 2;
const TARGET_PING_P99_PLUS_MS = 5;
const TARGET_RSS_MB = 100;
/** Each WebSocket client must receive at least this share of the PBX's steady rate. */
const TARGET_WS_SHARE = 0.99;
/** HTTP actions through amiplex against a bare node:http server answering a fixed text, and against Asterisk's AJAM. */
const TARGET_HTTP_OF_BARE = 0.5;
const TARGET_HTTP_OF_AJAM = 2;
/** One client at full speed through amiplex against the same client straight to the PBX. */
const TARGET_ONE_CLIENT_OF_DIRECT = 0.5;
/** A process this busy (% of one core) was probably the bottleneck. */
const SATURATED_CPU = 95;

/** 1234567 → "1,234,567". */
function num(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function table(head: readonly string[], rows: readonly (readonly string[])[], rightFrom = 1): string {
  const align = head.map((_, i) => (i >= rightFrom ? '---:' : '---'));
  return [head, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n') + '\n';
}

function droppedText(r: Pick<FanoutResult, 'wrongClients' | 'dropped' | 'extra'> & { readonly closedClients?: number }): string {
  if (r.wrongClients === 0) return '0';
  const parts = [num(r.dropped)];
  if (r.extra > 0) parts.push(`+${r.extra} extra`);
  parts.push(`${r.wrongClients} client${r.wrongClients === 1 ? '' : 's'}`);
  if (r.closedClients !== undefined && r.closedClients > 0) parts.push(`${r.closedClients} disconnected`);
  return parts.join(', ');
}

function fanoutSection(fan: readonly FanoutResult[]): string {
  const counts = [...new Set(fan.map((r) => r.clients))];
  const rows: string[][] = [];
  const detail: string[][] = [];
  for (const n of counts) {
    const d = fan.find((r) => r.clients === n && r.via === 'direct');
    const a = fan.find((r) => r.clients === n && r.via === 'amiplex');
    const perClient = (r: FanoutResult | undefined): string => (r ? `${num(r.perClient[0] ?? 0)} / ${num(median(r.perClient))}` : '–');
    rows.push([
      String(n),
      perClient(d),
      d ? num(d.total) : '–',
      perClient(a),
      a ? num(a.total) : '–',
      d && a && d.total > 0 ? `**${(a.total / d.total).toFixed(2)}**` : '–',
      a ? droppedText(a) : '–',
    ]);
    for (const r of [d, a]) {
      if (!r) continue;
      detail.push([
        String(n),
        r.via,
        num(r.pbxRate),
        num(r.expected),
        droppedText(r),
        cpuText(r),
        usPerDelivery(r),
        r.proxyLoopDelayMaxMs === undefined ? '–' : fmtMs(r.proxyLoopDelayMaxMs),
        r.proxyRss === undefined ? '–' : mb(r.proxyRss),
      ]);
    }
  }
  const saturated = fan.filter((r) => r.cpu.clients >= SATURATED_CPU).map((r) => `${r.clients} ${r.via}`);
  const caveat =
    saturated.length === 0
      ? ''
      : `\nThe measuring process was saturated (≥ ${SATURATED_CPU}% CPU) in: ${saturated.join(', ')}. There the rates say as much about ` +
        'the measuring clients as about the PBX or amiplex; amiplex\'s CPU time per delivered event (below) is the figure to compare.\n';
  return (
    '### Event fan-out (PBX flooding)\n\n' +
    table(['clients', 'direct: ev/s per client (min / median)', 'direct: total ev/s', 'amiplex: ev/s per client (min / median)', 'amiplex: total ev/s', 'amiplex / direct', 'dropped via amiplex'], rows) +
    caveat +
    '\nDetail: events the PBX generated per second in the window, events sent between the start and end markers ' +
    '(each client must count exactly these), CPU of each process in the window (% of one core; "other" is everything else ' +
    'running on the machine meanwhile), amiplex\'s CPU time per event it delivered to a client, how long amiplex\'s event loop ' +
    'was blocked at most in the window (every client\'s actions wait that long), amiplex RSS at the end of the window.\n\n' +
    table(['clients', 'via', 'PBX ev/s', 'events between markers', 'dropped', 'CPU %', 'amiplex CPU µs per delivered event', 'amiplex event-loop max delay (ms)', 'amiplex RSS (MB)'], detail, 2)
  );
}

/** amiplex's CPU time per event it delivered to a client, in µs: its efficiency, whoever was the bottleneck. */
function usPerDelivery(r: FanoutResult): string {
  return r.cpu.proxy === undefined ? '–' : perDelivery(r.cpu.proxy, [r.total]);
}

/** µs of CPU per event delivered, from % of one core and the events per second delivered. */
function perDelivery(cpuPercent: number, rates: readonly number[]): string {
  const total = rates.reduce((a, b) => a + b, 0);
  return total <= 0 ? '–' : ((cpuPercent * 1e4) / total).toFixed(2);
}

function cpuText(r: FanoutResult): string {
  const parts = [`PBX ${Math.round(r.cpu.sim)}`, ...(r.cpu.proxy === undefined ? [] : [`${r.via} ${Math.round(r.cpu.proxy)}`]), `clients ${Math.round(r.cpu.clients)}`, `other ${Math.round(r.cpu.other)}`];
  return parts.join(' · ');
}

/** Steady runs come in threes, direct, the bare relay, then amiplex, one for each --repeat. */
function steadySets(steady: readonly FanoutResult[]): { direct: FanoutResult | undefined; relay: FanoutResult | undefined; amiplex: FanoutResult }[] {
  const pairs: { direct: FanoutResult | undefined; relay: FanoutResult | undefined; amiplex: FanoutResult }[] = [];
  let direct: FanoutResult | undefined;
  let relay: FanoutResult | undefined;
  for (const r of steady) {
    if (r.via === 'direct') direct = r;
    else if (r.via === 'relay') relay = r;
    else {
      pairs.push({ direct, relay, amiplex: r });
      direct = undefined;
      relay = undefined;
    }
  }
  return pairs;
}

function steadySection(steady: readonly FanoutResult[]): string {
  const first = steady[0];
  if (!first || first.load.kind !== 'steady') return '';
  const runs = steadySets(steady).length;
  let run = 0;
  const rows = steady.map((r) => [
    String(r.via === 'direct' ? ++run : run),
    r.via,
    `${num(r.perClient[0] ?? 0)} / ${num(median(r.perClient))}`,
    num(r.pbxRate),
    droppedText(r),
    r.latency ? `${fmtMs(r.latency.p50)} / ${fmtMs(r.latency.p99)}` : '–',
    r.ping ? `${fmtMs(r.ping.p50)} / ${fmtMs(r.ping.p99)}` : '–',
    cpuText(r),
    usPerDelivery(r),
    r.proxyLoopDelayP99Ms === undefined ? '–' : `${fmtMs(r.proxyLoopDelayP99Ms)} / ${fmtMs(r.proxyLoopDelayMaxMs!)}`,
  ]);
  return (
    `### Sustained load: ${num(first.clients)} clients, PBX at a steady ${num(first.load.rate)} events/s` +
    `${runs > 1 ? `, ${runs} runs in a row` : ''}\n\n` +
    'Each run: straight to the PBX, through a bare relay (bench/relay-child.ts: one PBX session whose events are written on to every client as read, nothing else: ' +
    'what any process between the PBX and its clients costs on this machine), then through amiplex, each with fresh processes. ' +
    'Event latency: the PBX publishes a probe event every 20 ms on average, at random instants, carrying the instant it was due (time it then waits for the PBX process itself counts); ' +
    'every fifth client (spread over the fan-out order) notes when each arrives. ' +
    'Ping: one more client (events on, like the others) sends Pings one after another during the window.\n\n' +
    table(
      ['run', 'via', 'ev/s per client (min / median)', 'PBX ev/s', 'dropped', 'event latency p50 / p99 (ms)', 'Ping p50 / p99 (ms)', 'CPU %', 'relay or amiplex CPU µs per delivered event', 'amiplex event-loop delay p99 / max (ms)'],
      rows,
      2,
    )
  );
}

function rttSection(rtt: readonly RttResult[]): string {
  const rates = [...new Set(rtt.map((r) => r.rate))];
  const rows: string[][] = [];
  for (const rate of rates) {
    const d = rtt.find((r) => r.rate === rate && r.via === 'direct');
    const a = rtt.find((r) => r.rate === rate && r.via === 'amiplex');
    const p = (r: RttResult | undefined, q: number): string => (r ? fmtMs(percentile(r.samples, q)) : '–');
    const added = d && a ? percentile(a.samples, 99) - percentile(d.samples, 99) : NaN;
    rows.push([
      rate === 0 ? 'idle' : `${num(rate)} ev/s`,
      p(d, 50),
      p(d, 99),
      p(a, 50),
      p(a, 99),
      Number.isNaN(added) ? '–' : `**${fmtMs(added)}**`,
      [d, a].map((r) => (r ? String(Math.round(r.otherCpu)) : '–')).join(' / '),
    ]);
  }
  const n = rtt[0]?.samples.length ?? 0;
  return (
    `### Action round trip (${num(n)} sequential Pings, ms)\n\n` +
    table(['PBX traffic', 'direct p50', 'direct p99', 'amiplex p50', 'amiplex p99', 'added p99', 'other CPU % (direct / amiplex)'], rows)
  );
}

function rssSection(rss: RssResult): string {
  const row = (clients: number, m: RssResult['idle']): string[] => [num(clients), mb(m.rss), mb(m.heapUsed), mb(m.external)];
  return (
    `### amiplex memory (idle, logged-in clients; after ${rss.idle.gc ? 'a full GC and ' : ''}a settle period)\n\n` +
    table(['clients', 'RSS (MB)', 'JS heap used (MB)', 'external (MB)'], [row(0, rss.idle), row(rss.clients, rss.loaded)])
  );
}

function httpCpuText(c: HttpCpu): string {
  return `PBX ${Math.round(c.sim)} · amiplex ${Math.round(c.proxy)} · clients ${Math.round(c.clients)} · other ${Math.round(c.other)}`;
}

/** amiplex's requests per second over another server's, or undefined when that one was not measured. */
function ratio(r: HttpActionsResult, other: 'bare' | 'ajam'): number | undefined {
  const o = r[other];
  return typeof o === 'string' || o.load.perSecond <= 0 ? undefined : r.amiplex.load.perSecond / o.load.perSecond;
}

function httpSection(r: HttpActionsResult): string {
  const row = (what: string, run: HttpRun | string): string[] =>
    typeof run === 'string'
      ? [what, run, '–', '–', '–', '–', '–', '–']
      : [
        what,
        `**${num(run.load.perSecond)}**`,
        fmtMs(run.load.p50Ms),
        fmtMs(run.load.p99Ms),
        num(run.load.errors),
        runCpuText(run.cpu),
        serverUsPerRequest(run)?.toFixed(1) ?? '–',
        run.loopDelayMaxMs === undefined ? '–' : fmtMs(run.loopDelayMaxMs),
      ];
  const toBare = ratio(r, 'bare');
  const toAjam = ratio(r, 'ajam');
  return (
    `### HTTP actions (${r.concurrency} keep-alive connections, \`GET /rawman?Action=Ping\`, PBX idle)\n\n` +
    table(
      ['server', 'requests/s', 'p50 (ms)', 'p99 (ms)', 'errors', 'CPU % (PBX · server · client · other)', 'server CPU µs per request', 'event-loop max delay (ms)'],
      [
        row('amiplex (Basic auth, answered by the simulated PBX)', r.amiplex),
        row('bare node:http (a fixed text, no checks)', r.bare),
        row(`Asterisk AJAM${r.ajamUrl === undefined ? '' : ` (${r.ajamUrl}, Login session cookie)`}`, r.ajam),
      ],
    ) +
    `\namiplex / bare node:http: **${toBare === undefined ? '–' : toBare.toFixed(2)}** (target ≥ ${TARGET_HTTP_OF_BARE.toFixed(2)}); ` +
    `amiplex / AJAM: **${toAjam === undefined ? '–' : toAjam.toFixed(2)}** (target ≥ ${TARGET_HTTP_OF_AJAM.toFixed(2)}${toAjam === undefined ? ', not measured' : ''}).\n\n` +
    `Client: ${r.client}, the same for the three servers, one after the other. An error is an answer other than a 200 ` +
    'with `Response: Success` (wrk counts non-2xx answers and socket errors; each server\'s answer is checked before and after ' +
    'its load), or a failed request. CPU "other" includes the kernel\'s loopback work and whatever else ran on the machine. ' +
    'The server\'s CPU time per request is the figure that depends least on what else the machine was doing.\n'
  );
}

function sseLost(r: SseResult): string {
  if (r.wrongStreams === 0) return 'no (0)';
  const parts = [`**yes**: ${num(r.dropped)} events`];
  if (r.extra > 0) parts.push(`+${r.extra} extra`);
  parts.push(`${r.wrongStreams} stream${r.wrongStreams === 1 ? '' : 's'}`);
  if (r.closedStreams > 0) parts.push(`${r.closedStreams} disconnected`);
  return parts.join(', ');
}

function sseSection(r: SseResult): string {
  return (
    `### SSE fan-out (${num(r.streams)} \`GET /events\` streams, PBX at a steady ${num(r.rate)} events/s)\n\n` +
    table(
      ['ev/s per stream (min / median)', 'total ev/s', 'PBX ev/s', 'events between markers (PBX / amiplex in)', 'lost', 'CPU %', 'amiplex event-loop max delay (ms)'],
      [[
        `${num(r.perStream[0] ?? 0)} / ${num(median(r.perStream))}`,
        num(r.total),
        num(r.pbxRate),
        `${num(r.expected)} / ${r.proxyIn === undefined ? '–' : num(r.proxyIn)}`,
        sseLost(r),
        httpCpuText(r.cpu),
        fmtMs(r.proxyLoopDelayMaxMs),
      ]],
      0,
    ) +
    '\nEach stream counts its `data:` lines (one per event). "lost": between a marker event published before the load starts ' +
    'and one after it stops, each stream must count exactly the events the PBX generated (and amiplex took in); the difference is summed over streams.\n'
  );
}

function clusterSection(r: ClusterResult): string {
  const ms = (samples: readonly number[], q: number): string => (samples.length === 0 ? '–' : fmtMs(percentile(samples, q)));
  const latencies = (p: ClusterPhase): number[] => p.nodes.flatMap((n) => n.latencies).sort((a, b) => a - b);
  const [one, three] = [latencies(r.single), latencies(r.cluster)];
  const added = (q: number): string => (one.length === 0 || three.length === 0 ? '–' : fmtMs(percentile(three, q) - percentile(one, q)));
  const cpuOf = (p: ClusterPhase): string =>
    `PBX ${Math.round(p.cpu.sim)} · ${p.cpu.nats === undefined ? '' : `nats-server ${Math.round(p.cpu.nats)} · `}clients ${Math.round(p.cpu.clients)} · other ${Math.round(p.cpu.other)}`;
  const rows: string[][] = [];
  for (const [phase, p] of [['one node, no cluster', r.single], ['cluster of three', r.cluster]] as const) {
    for (const n of p.nodes) {
      rows.push([
        phase,
        n.name === 'single' ? '–' : `${n.name}${n.holder ? ' (holds the PBX)' : ''}`,
        String(n.clients),
        `${num(n.perClient[0] ?? 0)} / ${num(median(n.perClient))}`,
        droppedText(n),
        ms(n.latencies, 50),
        ms(n.latencies, 99),
        String(Math.round(n.cpu)),
        perDelivery(n.cpu, n.perClient),
        fmtMs(n.loopDelayMaxMs),
        n === p.nodes[0] ? `${num(p.pbxRate)}; ${cpuOf(p)}` : '',
      ]);
    }
  }
  return (
    `### Cluster: ${num(r.clients)} clients on three nodes against one, PBX at a steady ${num(r.rate)} events/s\n\n` +
    `First one amiplex without a cluster serves the ${num(r.clients)} clients; then, with fresh processes, three amiplex nodes ` +
    'share a PBX through a nats-server (JetStream) on this machine, the same clients spread over them. Latency: from the PBX ' +
    `stamping a probe event with the instant it was due (${num(PROBES_PER_S)} a second on average, at random instants, part of its rate) to a client reading it.\n\n` +
    table(['run', 'node', 'clients', 'ev/s per client (min / median)', 'dropped', 'event latency p50 (ms)', 'p99 (ms)', 'amiplex CPU %', 'amiplex CPU µs per delivered event', 'amiplex event-loop max delay (ms)', 'PBX ev/s; CPU % of the rest'], rows, 2) +
    `\nAdded by the NATS hop (all clients of the cluster against all of the single node): **p50 ${added(50)} ms, p99 ${added(99)} ms**.\n\n` +
    table(
      ['lease_ttl', 'SIGKILL of the holder → its PBX session up on a survivor', 'taken by', "survivors' clients disconnected"],
      [[`${r.leaseTtl} s`, r.takeoverMs === undefined ? 'not within 3 TTLs' : `**${(r.takeoverMs / 1000).toFixed(2)} s**`, r.takenBy ?? '–', String(r.survivorsDisconnected)]],
    ) +
    '\nA take-over waits for the dead holder\'s lease to run out: `lease_ttl` after its last renewal (renewed every third of it), ' +
    'so between ⅔ and all of `lease_ttl`, plus an AMI login (a survivor looks at the instant it runs out).\n'
  );
}

function websocketSection(runs: readonly WsFanoutResult[]): string {
  const first = runs[0];
  if (!first) return '';
  const rows = runs.map((r) => [
    r.protocol === 'tcp' ? 'raw AMI over TCP' : 'WebSocket (/ws)',
    `${num(r.perClient[0] ?? 0)} / ${num(median(r.perClient))}`,
    num(r.pbxRate),
    num(r.expected),
    r.wrongClients === 0 ? '0' : `${num(r.dropped)}${r.extra > 0 ? ` +${r.extra} extra` : ''}, ${r.wrongClients} clients`,
    fmtMs(r.latency.p50),
    fmtMs(r.latency.p99),
    fmtMs(r.latency.max),
    `PBX ${Math.round(r.cpu.sim)} · amiplex ${Math.round(r.cpu.proxy)} · clients ${Math.round(r.cpu.clients)} · other ${Math.round(r.cpu.other)}`,
    fmtMs(r.proxyLoopDelayMaxMs),
  ]);
  return (
    `### WebSocket next to raw TCP: ${num(first.clients)} clients, PBX at a steady ${num(first.rate)} events/s\n\n` +
    table(['clients', 'ev/s per client (min / median)', 'PBX ev/s', 'events between markers', 'dropped', 'latency p50 (ms)', 'latency p99 (ms)', 'latency max (ms)', 'CPU %', 'amiplex event-loop max delay (ms)'], rows) +
    '\nOne run after the other, each with fresh processes. Latency: the PBX publishes a probe event every 20 ms on average, at random instants, carrying the instant it ' +
    'was due; every client notes when it arrives (the processes share the machine\'s clock); the figures are over all clients\' probes in the window.\n'
  );
}

function targetsSection(input: ReportInput): string {
  const rows: string[][] = [];
  const pairs = steadySets(input.steady).filter((p) => p.amiplex.clients === TARGET_CLIENTS && p.amiplex.load.kind === 'steady' && p.amiplex.load.rate === TARGET_RATE);
  if (pairs.length > 0) {
    const n = pairs.length;
    const runs = n === 1 ? 'one run' : `${n} runs in a row`;
    const mins = pairs.map((p) => p.amiplex.perClient[0] ?? 0);
    const rateOk = pairs.every((p, i) => mins[i]! >= TARGET_STEADY_MIN && p.amiplex.wrongClients === 0);
    rows.push([
      `${TARGET_CLIENTS} clients, PBX at a steady ${num(TARGET_RATE)} events/s, ${runs}: every client ≥ ${num(TARGET_STEADY_MIN)} events/s, nothing dropped`,
      `slowest client per run ${mins.map(num).join(', ')} ev/s; dropped ${pairs.map((p) => droppedText(p.amiplex)).join(', ')}`,
      rateOk ? 'met' : '**NOT met**',
    ]);
    const lat = pairs.map((p) => ({ a: p.amiplex.latency?.p99, d: p.direct?.latency?.p99 }));
    rows.push([
      `event latency p99 ≤ ${TARGET_EVENT_P99_OF_DIRECT}× direct, each run`,
      lat.map((x) => `${fmtMs(x.a ?? NaN)} (direct ${fmtMs(x.d ?? NaN)})`).join(', ') + ' ms',
      lat.every((x) => x.a !== undefined && x.d !== undefined && x.a <= TARGET_EVENT_P99_OF_DIRECT * x.d) ? 'met' : '**NOT met**',
    ]);
    const relays = pairs.filter((p) => p.relay?.latency !== undefined && p.direct?.latency !== undefined);
    if (relays.length > 0) {
      // Not a target: what a process between the PBX and its clients costs here before it does anything.
      rows.push([
        `for reference: a bare relay's event latency p99 against ${TARGET_EVENT_P99_OF_DIRECT}× direct`,
        relays.map((p) => `${fmtMs(p.relay!.latency!.p99)} (direct ${fmtMs(p.direct!.latency!.p99)})`).join(', ') + ' ms',
        `${relays.filter((p) => p.relay!.latency!.p99 <= TARGET_EVENT_P99_OF_DIRECT * p.direct!.latency!.p99).length} of ${relays.length} within`,
      ]);
    }
    const ping = pairs.map((p) => ({ a: p.amiplex.ping?.p99, d: p.direct?.ping?.p99 }));
    rows.push([
      `Ping p99 under that load ≤ ${TARGET_PING_P99_OF_DIRECT}× direct + ${TARGET_PING_P99_PLUS_MS} ms, each run`,
      ping.map((x) => `${fmtMs(x.a ?? NaN)} (direct ${fmtMs(x.d ?? NaN)})`).join(', ') + ' ms',
      ping.every((x) => x.a !== undefined && x.d !== undefined && x.a <= TARGET_PING_P99_OF_DIRECT * x.d + TARGET_PING_P99_PLUS_MS) ? 'met' : '**NOT met**',
    ]);
  } else {
    const a = input.fan.find((r) => r.via === 'amiplex' && r.clients === TARGET_CLIENTS);
    if (a) {
      const min = a.perClient[0] ?? 0;
      rows.push([
        `${TARGET_CLIENTS} clients each receiving ${num(TARGET_RATE)} events/s, nothing dropped`,
        `PBX flooding: slowest client ${num(min)} ev/s, dropped ${droppedText(a)}`,
        min >= TARGET_RATE && a.wrongClients === 0 ? 'met' : '**NOT met**',
      ]);
    }
  }
  // Under a flood: one client's share of its direct rate, and no client cut off at any count.
  const one = input.fan.find((r) => r.via === 'amiplex' && r.clients === 1);
  const oneDirect = input.fan.find((r) => r.via === 'direct' && r.clients === 1);
  if (one && oneDirect && oneDirect.total > 0) {
    const share = one.total / oneDirect.total;
    rows.push([
      `one client, the PBX flooding: ≥ ${Math.round(TARGET_ONE_CLIENT_OF_DIRECT * 100)}% of direct`,
      `${num(one.total)} against ${num(oneDirect.total)} events/s: ${share.toFixed(2)}`,
      share >= TARGET_ONE_CLIENT_OF_DIRECT ? 'met' : '**NOT met**',
    ]);
  }
  const flooded = input.fan.filter((r) => r.via === 'amiplex' && r.load.kind === 'flood');
  if (flooded.length > 0) {
    rows.push([
      'the PBX flooding: nothing dropped (reading the PBX slows down instead), at every client count',
      flooded.map((r) => `${num(r.clients)}: ${droppedText(r)}`).join('; '),
      flooded.every((r) => r.wrongClients === 0) ? 'met' : '**NOT met**',
    ]);
  }
  const added = input.rtt
    .filter((r) => r.via === 'amiplex')
    .map((a) => {
      const d = input.rtt.find((r) => r.via === 'direct' && r.rate === a.rate);
      return d ? { rate: a.rate, ms: percentile(a.samples, 99) - percentile(d.samples, 99) } : undefined;
    })
    .filter((x): x is { rate: number; ms: number } => x !== undefined);
  if (added.length > 0) {
    const worst = Math.max(...added.map((x) => x.ms));
    const text = added.map((x) => `${fmtMs(x.ms)} ms ${x.rate === 0 ? 'idle' : `at ${num(x.rate)} ev/s`}`).join(', ');
    rows.push([`added p99 round trip under ${TARGET_ADDED_P99_MS} ms`, text, worst < TARGET_ADDED_P99_MS ? 'met' : '**NOT met**']);
  }
  if (input.rss) {
    const v = input.rss.loaded.rss / 1024 / 1024;
    rows.push([`under ${TARGET_RSS_MB} MB RSS with ${num(input.rss.clients)} idle clients`, `${v.toFixed(1)} MB`, v < TARGET_RSS_MB ? 'met' : '**NOT met**']);
  }
  if (input.http) {
    const h = input.http;
    const errors = h.amiplex.load.errors;
    const toBare = ratio(h, 'bare');
    const toAjam = ratio(h, 'ajam');
    rows.push([
      `HTTP actions ≥ ${Math.round(TARGET_HTTP_OF_BARE * 100)}% of a bare node:http server`,
      `${num(h.amiplex.load.perSecond)} against ${typeof h.bare === 'string' ? '–' : num(h.bare.load.perSecond)} requests/s: ${toBare === undefined ? '–' : `${Math.round(toBare * 100)}%`}, ${num(errors)} errors`,
      toBare !== undefined && toBare >= TARGET_HTTP_OF_BARE && errors === 0 ? 'met' : '**NOT met**',
    ]);
    rows.push([
      `HTTP actions ≥ ${TARGET_HTTP_OF_AJAM}× Asterisk's AJAM`,
      typeof h.ajam === 'string' ? h.ajam : `${num(h.amiplex.load.perSecond)} against ${num(h.ajam.load.perSecond)} requests/s: ${toAjam!.toFixed(2)}×`,
      toAjam === undefined ? 'not measured' : toAjam >= TARGET_HTTP_OF_AJAM && errors === 0 ? 'met' : '**NOT met**',
    ]);
  }
  const ws = input.websocket.find((r) => r.protocol === 'websocket');
  if (ws) {
    const tcp = input.websocket.find((r) => r.protocol === 'tcp');
    const min = ws.perClient[0] ?? 0;
    const ok = min >= ws.rate * TARGET_WS_SHARE && ws.wrongClients === 0;
    rows.push([
      `${num(ws.clients)} WebSocket clients each receiving ≥ ${num(ws.rate * TARGET_WS_SHARE)} events/s, nothing dropped`,
      `slowest ${num(min)} ev/s, dropped ${ws.dropped}; p99 latency ${fmtMs(ws.latency.p99)} ms${tcp ? ` (raw TCP ${fmtMs(tcp.latency.p99)} ms)` : ''}`,
      ok ? 'met' : '**NOT met**',
    ]);
  }
  if (rows.length === 0) return '';
  return '### Targets\n\n' + table(['target', 'measured', ''], rows, 3);
}

export function renderReport(input: ReportInput): string {
  const m = machine();
  const s = input.settings;
  const parts: string[] = [];
  parts.push(`## amiplex benchmark${input.quick ? ' (--quick)' : ''}\n`);
  parts.push(
    `Measured on: Node ${m.node}, ${m.cpu}, ${m.cores} cores, ${m.memGb} GB RAM, ${m.os}; total run time ${Math.round(input.elapsedS)} s.\n\n` +
      'The simulated PBX and amiplex (default settings) each run in a child process; the measuring clients (raw AMI over TCP, ' +
      'counting complete messages, nothing decoded) run in the parent. Every run starts fresh processes. ' +
      `Event rates are measured over a ${s.windowMs / 1000} s window after a ${s.warmupMs / 1000} s warm-up. ` +
      '"Flooding": the PBX generates call events as fast as its sessions read them (direct: as fast as the slowest client reads; ' +
      'through amiplex: as fast as amiplex reads). "dropped": the PBX child publishes a marker event before the load starts and ' +
      'another after it stops; each client must receive exactly the events the PBX generated between the two, and the ' +
      'difference is summed over clients (a client that amiplex disconnects as slow loses everything after that).\n',
  );
  if (input.fan.length > 0) parts.push(fanoutSection(input.fan));
  if (input.steady.length > 0) parts.push(steadySection(input.steady));
  if (input.rtt.length > 0) parts.push(rttSection(input.rtt));
  if (input.rss) parts.push(rssSection(input.rss));
  if (input.http) parts.push(httpSection(input.http));
  if (input.sse) parts.push(sseSection(input.sse));
  if (input.cluster) parts.push(clusterSection(input.cluster));
  if (input.websocket.length > 0) parts.push(websocketSection(input.websocket));
  const targets = targetsSection(input);
  if (targets) parts.push(targets);
  if (input.notes.length > 0) parts.push('### Notes\n\n' + input.notes.map((p) => `- ${p.replace(/\n/g, '\n  ')}`).join('\n') + '\n');
  if (input.problems.length > 0) parts.push('### Problems\n\n' + input.problems.map((p) => `- ${p.replace(/\n/g, '\n  ')}`).join('\n') + '\n');
  return parts.join('\n');
}
