/**
 * Benchmark child: amiplex in a process of its own, in front of the simulated PBX child,
 * with the default settings of proxy.conf (only the listener, one server and one user set).
 * Logs at `warn` and above go to stderr, which the parent keeps for its error reports.
 */
import os from 'node:os';
import { constants as perfConstants, monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { getHeader } from '../src/ami/message.js';
import { parseConfig } from '../src/config/index.js';
import { startProxy, type RunningProxy } from '../src/daemon.js';
import { createLogger } from '../src/log.js';
import { cpuReading, serve } from './ipc.js';
import { PROBE_KEY, wallMs, type GcKindStats, type MemoryReport, type ProbeTimes, type ProxyChildStats, type ProxyStart } from './protocol.js';

const UP_TIMEOUT_MS = 10_000;

/**
 * A safety valve, not a measurement: amiplex bounds each client's output (client_buffer_max,
 * 16 MiB by default) but not their sum, so a flood to a thousand clients slower than amiplex
 * could take gigabytes. Past this much RSS (BENCH_RSS_LIMIT_MB overrides it) the child leaves,
 * and the run fails saying why.
 */
const RSS_LIMIT = Number(process.env.BENCH_RSS_LIMIT_MB ?? 0) * 1024 ** 2 || Math.min(4 * 1024 ** 3, os.totalmem() / 4);
setInterval(() => {
  const rss = process.memoryUsage.rss();
  if (rss <= RSS_LIMIT) return;
  process.stderr.write(`amiplex RSS ${(rss / 1024 ** 2).toFixed(0)} MB is over the benchmark's limit of ${(RSS_LIMIT / 1024 ** 2).toFixed(0)} MB: stopping\n`);
  process.exit(3);
}, 200).unref();

/** How late amiplex's event loop runs: every client's actions and events wait that long. */
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();

/** Garbage-collection pauses since the last reset (ms each), and the longest of each kind (minor, major, incremental marking, weak callbacks). */
let gcPauses: number[] = [];
let gcByKind: Record<string, GcKindStats> = {};
const GC_KINDS: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
};
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcPauses.push(e.duration);
    const kind = GC_KINDS[((e as { detail?: { kind?: number } }).detail)?.kind ?? 0] ?? 'other';
    const stats = (gcByKind[kind] ??= { pauses: 0, maxMs: 0 });
    stats.pauses++;
    stats.maxMs = Math.max(stats.maxMs, e.duration);
  }
}).observe({ entryTypes: ['gc'] });

let proxy: RunningProxy | undefined;
const markers = new Map<string, Promise<number>>();
/** While probes are timed: how old each probe was when amiplex fanned it out, and once its writes were done (ms). */
let probeTimes: { fannedOut: number[]; written: number[]; stop: () => void } | undefined;

function running(): RunningProxy {
  if (!proxy) throw new Error('amiplex is not started');
  return proxy;
}

function upstreamState(p: RunningProxy): string {
  return [...p.hub.servers.values()].map((s) => s.session.state).join(',');
}

function holds(p: RunningProxy): boolean {
  return [...p.hub.servers.values()].every((s) => s.remote === undefined && s.session.state === 'up');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

serve({
  async start(arg: ProxyStart): Promise<number> {
    if (proxy) throw new Error('already started');
    const text = [
      '[general]',
      'listen = 127.0.0.1:0',
      ...(arg.http === true ? ['http = 127.0.0.1:0'] : []),
      ...(arg.general ?? []),
      '',
      '[server sim]',
      'host = 127.0.0.1',
      `port = ${arg.simPort}`,
      'username = admin',
      'secret = admin',
      ...(arg.server ?? []),
      '',
      `[user ${arg.username}]`,
      ...(arg.userLines ?? [`secret = ${arg.secret}`]),
      '',
      ...(arg.cluster === undefined ? [] : ['[cluster]', `nats = ${arg.cluster.nats}`, `node = ${arg.cluster.node}`, 'name = bench', '']),
    ].join('\n');
    const config = parseConfig(text, 'bench.conf');
    proxy = await startProxy(config, { log: createLogger('warn', process.stderr) });
    const deadline = Date.now() + UP_TIMEOUT_MS;
    if (proxy.cluster !== undefined) {
      await Promise.race([proxy.cluster.ready, sleep(UP_TIMEOUT_MS).then(() => Promise.reject(new Error(`not in the cluster after ${UP_TIMEOUT_MS} ms`)))]);
      return proxy.listeners[0]!.port;
    }
    while (upstreamState(proxy) !== 'up') {
      if (Date.now() > deadline) throw new Error(`the PBX session is not up after ${UP_TIMEOUT_MS} ms (${upstreamState(proxy)})`);
      await sleep(10);
    }
    const listener = proxy.listeners[0];
    if (!listener) throw new Error('amiplex has no listener');
    return listener.port;
  },
  /** Cluster mode: whether this node holds the PBX and its session is up. */
  holds(): boolean {
    return holds(running());
  },
  /** Cluster mode: resolves, with when (ms since the epoch), once this node holds the PBX with its session up. */
  async heldAt(timeoutMs: number): Promise<number> {
    const p = running();
    const deadline = Date.now() + timeoutMs;
    while (!holds(p)) {
      if (Date.now() > deadline) throw new Error(`does not hold the PBX after ${timeoutMs} ms`);
      await sleep(2);
    }
    return performance.timeOrigin + performance.now();
  },
  /** The bound port of the HTTP listener (started with `http: true`). */
  httpPort(): number {
    const bound = running().http[0];
    if (!bound) throw new Error('amiplex has no HTTP listener');
    return bound.port;
  },
  /** Counters and readings; the event-loop delay is since the last stats call that asked to reset it. */
  stats(reset: boolean | null): ProxyChildStats {
    const p = running();
    const loopDelayMaxMs = loopDelay.max / 1e6;
    const loopDelayP99Ms = loopDelay.percentile(99) / 1e6;
    const gc = gcPauses;
    const byKind = gcByKind;
    if (reset === true) {
      loopDelay.reset();
      gcPauses = [];
      gcByKind = {};
    }
    const mem = process.memoryUsage();
    const c = p.hub.counters;
    let bufferedTotal = 0;
    let bufferedMax = 0;
    for (const client of p.hub.clients) {
      if (client.isClosed) continue; // disconnected, its output let go: no longer counted
      bufferedTotal += client.buffered;
      bufferedMax = Math.max(bufferedMax, client.buffered);
    }
    return {
      loopDelayMaxMs,
      loopDelayP99Ms,
      gcPauses: gc.length,
      gcMs: gc.reduce((a, b) => a + b, 0),
      gcMaxMs: gc.reduce((a, b) => Math.max(a, b), 0),
      gcByKind: byKind,
      readHolds: [...p.hub.servers.values()].reduce((n, s) => n + s.session.holds, 0),
      clientsBehind: p.hub.outputBudget.pace.clientsBehind,
      bufferedTotal,
      bufferedMax,
      budgetTotal: p.hub.outputBudget.total,
      eventsIn: c.eventsIn,
      eventsDelivered: c.eventsDelivered,
      slowClientsDropped: c.slowClientsDropped,
      floodingClientsDropped: c.floodingClientsDropped,
      refusedConnections: c.refusedConnections,
      clients: p.hub.clients.size,
      upstream: upstreamState(p),
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      external: mem.external,
      arrayBuffers: mem.arrayBuffers,
      cpu: cpuReading(),
    };
  },
  /**
   * Starts watching for the marker event `tag` (the observer is installed only while
   * waiting); `markerSeen(tag)` then resolves with amiplex's count of events taken in from the
   * PBX, that marker included, at the moment the marker was broadcast.
   */
  watchMarker(tag: string): void {
    const p = running();
    markers.set(
      tag,
      new Promise<number>((resolve) => {
        const stop = p.hub.observe((_server, event) => {
          // Event is found without parsing the rest; `headers` parses them all.
          if (getHeader(event, 'Event') !== 'UserEvent') return;
          const h = event.headers;
          for (const [name, value] of h) {
            if (name === 'BenchMark' && value === tag) {
              stop();
              resolve(p.hub.counters.eventsIn);
              return;
            }
          }
        });
      }),
    );
  },
  async markerSeen(tag: string): Promise<number> {
    const seen = markers.get(tag);
    if (!seen) throw new Error(`not watching for marker ${tag}`);
    const count = await seen;
    markers.delete(tag);
    return count;
  },
  /**
   * Times the PBX's latency probes inside amiplex (on), or stops and returns the samples (off):
   * each probe's age when amiplex fanned it out to its clients' queues, and when the writes of
   * that turn were done (a setImmediate after the one that flushes every client's queue).
   */
  probes(on: boolean): ProbeTimes | undefined {
    probeTimes?.stop();
    const done = probeTimes;
    probeTimes = undefined;
    if (!on) return done && { fannedOut: done.fannedOut, written: done.written };
    const p = running();
    const fannedOut: number[] = [];
    const written: number[] = [];
    const stop = p.hub.observe((_server, event) => {
      if (getHeader(event, 'Event') !== 'UserEvent') return;
      const h = event.headers;
      for (const [name, value] of h) {
        if (name !== PROBE_KEY) continue;
        const sent = Number(value);
        fannedOut.push(wallMs() - sent);
        setImmediate(() => written.push(wallMs() - sent));
        return;
      }
    });
    probeTimes = { fannedOut, written, stop };
    return undefined;
  },
  /** Memory after a settle period, with full garbage collections when --expose-gc is on. */
  async memory(settleMs: number): Promise<MemoryReport> {
    const p = running();
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    await sleep(settleMs);
    gc?.();
    await sleep(50);
    const mem = process.memoryUsage();
    return {
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      heapTotal: mem.heapTotal,
      external: mem.external,
      arrayBuffers: mem.arrayBuffers,
      clients: p.hub.clients.size,
      gc: gc !== undefined,
    };
  },
  async stop(): Promise<void> {
    await proxy?.stop();
  },
});
