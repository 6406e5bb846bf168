/**
 * `npm run bench`: amiplex measured against the simulated PBX on this machine.
 *
 *   node dist/bench/run.js [--quick] [--only fanout,steady,rtt,rss,http,http-actions,sse,websocket,cluster] [--clients 1,10,100,1000]
 *                          [--warmup S] [--window S] [--pings N] [--steady-clients N] [--steady-rate EV_S] [--repeat N]
 *                          [--cluster-clients N] [--cluster-rate EV_S]
 *                          [--profile DIR] [--ajam http://USER:SECRET@HOST:8088/asterisk/rawman]
 *                          [--http-client auto|wrk|node]
 *
 * --quick: shorter windows and fewer Pings (about a minute); --profile DIR: the children write
 * CPU profiles (node --cpu-prof) there, one per run, named after it; --ajam: also measure
 * Asterisk's own HTTP manager with the HTTP actions load; --http-client: what sends that load
 * (default wrk when installed, else node:http); --repeat N: the steady load's runs in a row (5, or 1
 * with --quick), each direct then through amiplex.
 *
 * The PBX and amiplex each run in a child process; the measuring clients run here. Progress
 * goes to stderr, the Markdown report to stdout. Exit code 0 when every measurement ran and
 * the baseline checks held, 1 otherwise (a missed target is reported, not an error).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { renderReport } from './report.js';
import { clusterRun, type ClusterResult } from './cluster.js';
import { fanout, type FanoutResult } from './fanout.js';
import { httpActions, sseFanout, type HttpActionsResult, type SseResult } from './http.js';
import { chooseClient } from './http-load.js';
import { memory, type RssResult } from './memory.js';
import { roundTrip, type RttResult } from './round-trip.js';
import { Scope, type Settings, type Via } from './setup.js';
import { protocolFanout, type Protocol, type WsFanoutResult } from './websocket.js';

interface Args {
  quick: boolean;
  only: Set<string>;
  clients: number[];
  profileDir: string | undefined;
  windowS: number | undefined;
  warmupS: number | undefined;
  pings: number | undefined;
  steadyClients: number | undefined;
  steadyRate: number | undefined;
  repeat: number | undefined;
  clusterClients: number | undefined;
  clusterRate: number | undefined;
  ajam: string | undefined;
  httpClient: 'auto' | 'wrk' | 'node';
}

/** `http` is both of its halves: `http-actions` and `sse`. */
const PARTS = ['fanout', 'steady', 'rtt', 'rss', 'http', 'http-actions', 'sse', 'websocket', 'cluster'];
/** Without --only: every part but the cluster, which needs nats-server (Debian's package of that name). */
const DEFAULT_PARTS = PARTS.filter((p) => p !== 'cluster');

/** A bad command line: reported in one line, without a stack. */
class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    quick: false,
    only: new Set(DEFAULT_PARTS),
    clients: [1, 10, 100, 1000],
    profileDir: undefined,
    windowS: undefined,
    warmupS: undefined,
    pings: undefined,
    steadyClients: undefined,
    steadyRate: undefined,
    repeat: undefined,
    clusterClients: undefined,
    clusterRate: undefined,
    ajam: undefined,
    httpClient: 'auto',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.quick = true;
    else if (a === '--only') {
      const parts = value().split(',');
      for (const p of parts) if (!PARTS.includes(p)) throw new UsageError(`--only: unknown part ${p} (${PARTS.join(', ')})`);
      args.only = new Set(parts.flatMap((p) => (p === 'http' ? ['http', 'http-actions', 'sse'] : [p])));
    } else if (a === '--clients') {
      args.clients = value().split(',').map((v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 5000) throw new UsageError(`--clients: bad count ${v}`);
        return n;
      });
    } else if (a === '--profile') args.profileDir = path.resolve(value());
    else if (a === '--window') args.windowS = positive(a, value());
    else if (a === '--warmup') args.warmupS = positive(a, value());
    else if (a === '--pings') args.pings = Math.round(positive(a, value()));
    else if (a === '--steady-clients') args.steadyClients = Math.round(positive(a, value()));
    else if (a === '--steady-rate') args.steadyRate = positive(a, value());
    else if (a === '--repeat') args.repeat = Math.round(positive(a, value()));
    else if (a === '--cluster-clients') args.clusterClients = Math.round(positive(a, value()));
    else if (a === '--cluster-rate') args.clusterRate = Math.max(200, positive(a, value()));
    else if (a === '--ajam') args.ajam = value();
    else if (a === '--http-client') {
      const v = value();
      if (v !== 'auto' && v !== 'wrk' && v !== 'node') throw new UsageError(`--http-client: auto, wrk or node, not ${v}`);
      args.httpClient = v;
    }
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: node dist/bench/run.js [--quick] [--only fanout,steady,rtt,rss,http,http-actions,sse,websocket,cluster] [--clients 1,10,100,1000]\n' +
          '                              [--warmup S] [--window S] [--pings N] [--steady-clients N] [--steady-rate EV_S] [--repeat N]\n' +
          '                              [--cluster-clients N] [--cluster-rate EV_S]\n' +
          '                              [--profile DIR] [--ajam http://USER:SECRET@HOST:8088/asterisk/rawman]\n' +
          '                              [--http-client auto|wrk|node]\n',
      );
      process.exit(0);
    } else throw new UsageError(`unknown argument ${a} (see --help)`);
  }
  return args;
}

function positive(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag}: not a positive number: ${v}`);
  return n;
}

function settingsFor(args: Args): Settings {
  const profileDir = args.profileDir;
  const common = {
    drainTimeoutMs: 60_000,
    backgroundRate: 2000,
    steadyRate: 10_000,
    steadyClients: 100,
    rssClients: 1000,
    httpConcurrency: 50,
    sseStreams: 100,
    sseRate: 10_000,
    clusterClients: 300,
    clusterRate: 2000,
    profileDir,
  };
  const base: Settings = args.quick
    ? { ...common, warmupMs: 1000, windowMs: 2000, pings: 3000, pingWarmup: 500, rssSettleMs: 1000, steadyRuns: 1 }
    : { ...common, warmupMs: 4000, windowMs: 12_000, pings: 10_000, pingWarmup: 1000, rssSettleMs: 3000, steadyRuns: 5 };
  return {
    ...base,
    ...(args.windowS === undefined ? {} : { windowMs: args.windowS * 1000 }),
    ...(args.warmupS === undefined ? {} : { warmupMs: args.warmupS * 1000 }),
    ...(args.pings === undefined ? {} : { pings: args.pings, pingWarmup: Math.ceil(args.pings / 10) }),
    ...(args.steadyClients === undefined ? {} : { steadyClients: args.steadyClients }),
    ...(args.steadyRate === undefined ? {} : { steadyRate: args.steadyRate }),
    ...(args.repeat === undefined ? {} : { steadyRuns: args.repeat }),
    ...(args.clusterClients === undefined ? {} : { clusterClients: args.clusterClients }),
    ...(args.clusterRate === undefined ? {} : { clusterRate: args.clusterRate }),
  };
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const settings = settingsFor(args);
  if (args.profileDir !== undefined) mkdirSync(args.profileDir, { recursive: true });
  const scope = new Scope();
  const started = Date.now();
  // Each steady run (direct, the bare relay and amiplex) takes about three times warm-up and window, plus set-up.
  const watchdogMs = (args.quick ? 5 * 60_000 : 10 * 60_000) + settings.steadyRuns * 3 * (settings.warmupMs + settings.windowMs + 10_000);
  const watchdog = setTimeout(() => {
    log(`bench: still running after ${watchdogMs / 60_000} min: giving up`);
    scope.killNow();
    process.exit(1);
  }, watchdogMs);
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`bench: ${signal}: stopping`);
    scope.killNow();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', () => scope.killNow());

  const fan: FanoutResult[] = [];
  const steady: FanoutResult[] = [];
  const rtt: RttResult[] = [];
  let rss: RssResult | undefined;
  let httpResult: HttpActionsResult | undefined;
  let sse: SseResult | undefined;
  let cluster: ClusterResult | undefined;
  const websocket: WsFanoutResult[] = [];
  const problems: string[] = [];
  try {
    // Round trips first: measured right after the floods, amiplex's p99 came out about twice as high
    // (the cause was not pinned down), which would say more about the floods than about amiplex.
    if (args.only.has('rtt')) {
      log(`Ping round trip: ${settings.pings} sequential Pings after ${settings.pingWarmup} to warm up`);
      for (const rate of [0, settings.backgroundRate]) {
        for (const via of ['direct', 'amiplex'] as Via[]) rtt.push(await roundTrip(scope, via, rate, settings, log));
      }
    }
    if (args.only.has('fanout')) {
      log(`event fan-out, PBX flooding: ${settings.warmupMs / 1000} s warm-up, ${settings.windowMs / 1000} s window`);
      for (const n of args.clients) {
        for (const via of ['direct', 'amiplex'] as Via[]) fan.push(await fanout(scope, via, n, { kind: 'flood' }, settings, log));
      }
    }
    if (args.only.has('steady')) {
      const { steadyClients: n, steadyRate: rate, steadyRuns: runs } = settings;
      log(`event fan-out, PBX at a steady ${rate} events/s to ${n} clients, ${runs} run${runs === 1 ? '' : 's'} in a row: ${settings.warmupMs / 1000} s warm-up, ${settings.windowMs / 1000} s window`);
      for (let run = 1; run <= runs; run++) {
        for (const via of ['direct', 'relay', 'amiplex'] as Via[]) steady.push(await fanout(scope, via, n, { kind: 'steady', rate }, settings, log));
      }
    }
    if (args.only.has('rss')) {
      log(`amiplex memory with ${settings.rssClients} idle clients, after ${settings.rssSettleMs / 1000} s to settle`);
      rss = await memory(scope, settings, log);
    }
    if (args.only.has('http-actions')) {
      const client = chooseClient(args.httpClient);
      log(`HTTP actions: ${settings.httpConcurrency} keep-alive connections sending GET /rawman?Action=Ping, ${client.name}: ${settings.warmupMs / 1000} s warm-up, ${settings.windowMs / 1000} s window each`);
      httpResult = await httpActions(scope, settings, log, { client, ...(args.ajam === undefined ? {} : { ajam: args.ajam }) });
    }
    if (args.only.has('sse')) {
      log(`SSE fan-out: ${settings.sseStreams} event streams, PBX at a steady ${settings.sseRate} events/s: ${settings.warmupMs / 1000} s warm-up, ${settings.windowMs / 1000} s window`);
      sse = await sseFanout(scope, settings.sseStreams, settings.sseRate, settings, log);
    }
    if (args.only.has('websocket')) {
      const { steadyClients: n, steadyRate: rate } = settings;
      log(`WebSocket next to raw TCP: ${n} clients each, PBX at a steady ${rate} events/s with latency probes: ${settings.warmupMs / 1000} s warm-up, ${settings.windowMs / 1000} s window`);
      for (const protocol of ['tcp', 'websocket'] as Protocol[]) websocket.push(await protocolFanout(scope, protocol, n, rate, settings, log));
    }
    if (args.only.has('cluster')) {
      log(`cluster: ${settings.clusterClients} clients on one node, then on three nodes and a nats-server, PBX at a steady ${settings.clusterRate} events/s: ${settings.warmupMs / 1000} s warm-up, ${settings.windowMs / 1000} s window; then SIGKILL of the holder`);
      cluster = await clusterRun(scope, settings.clusterClients, settings.clusterRate, settings, log);
    }
  } catch (err) {
    problems.push(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    // Whatever the last run left behind when it failed.
    await scope.release();
    clearTimeout(watchdog);
  }

  // What amiplex did wrong is a finding (reported); a baseline that does not add up means the bench itself is broken (an error).
  const notes: string[] = [];
  for (const r of [...fan, ...steady]) {
    const what = `${r.clients} clients ${r.via}${r.load.kind === 'steady' ? ` at ${r.load.rate} ev/s` : ' (flood)'}`;
    for (const note of r.notes) (r.via === 'direct' ? problems : notes).push(`${what}: ${note}`);
    if (r.via === 'direct' && (r.wrongClients > 0 || r.dropped > 0 || r.extra > 0)) {
      problems.push(`baseline check failed: ${what}: ${r.wrongClients} clients counted other than the ${r.expected} events the PBX sent (dropped ${r.dropped}, extra ${r.extra})`);
    }
  }
  if (httpResult) {
    for (const run of [httpResult.amiplex, httpResult.bare, httpResult.ajam]) {
      if (typeof run !== 'string') for (const e of run.load.errorKinds) notes.push(`HTTP actions, ${run.label}: ${e}`);
    }
  }
  if (sse) for (const note of sse.notes) notes.push(`SSE fan-out: ${note}`);
  if (cluster) for (const note of cluster.notes) notes.push(`cluster: ${note}`);
  for (const r of websocket) for (const note of r.notes) notes.push(`${r.protocol === 'tcp' ? 'raw TCP' : 'WebSocket'} clients (WebSocket part): ${note}`);
  const report = renderReport({ fan, steady, rtt, rss, http: httpResult, sse, websocket, cluster, settings, quick: args.quick, elapsedS: (Date.now() - started) / 1000, notes, problems });
  process.stdout.write(report);
  if (args.profileDir !== undefined) log(`CPU profiles written to ${args.profileDir}`);
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`bench: ${err instanceof UsageError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
