/**
 * What every measurement starts from: its settings, and fresh child processes — a simulated
 * PBX, plus amiplex in front of it when measuring through it — so that no run inherits another's
 * calls in progress, buffers or heap. A `Scope` remembers everything started, so a failure
 * anywhere still ends it all.
 */
import { BenchChild } from './ipc.js';
import { BENCH_USER, SIM_ADMIN } from './protocol.js';
import type { Credentials } from './raw-clients.js';

/** Clients straight to the PBX, through amiplex, or through a bare relay (relay-child.ts: the floor of any proxy process). */
export type Via = 'direct' | 'amiplex' | 'relay';

export interface Settings {
  readonly warmupMs: number;
  readonly windowMs: number;
  /** The steady PBX rate, and the client count, of the sustained-load run (the target). */
  readonly steadyRate: number;
  readonly steadyClients: number;
  /** Steady runs in a row (direct, then amiplex, each time): --repeat. */
  readonly steadyRuns: number;
  /** How long to wait for the end marker to reach every client once the load stops. */
  readonly drainTimeoutMs: number;
  readonly pings: number;
  readonly pingWarmup: number;
  /** PBX events per second behind the second round-trip measurement. */
  readonly backgroundRate: number;
  readonly rssClients: number;
  readonly rssSettleMs: number;
  /** Concurrent keep-alive connections of the HTTP actions run. */
  readonly httpConcurrency: number;
  /** Event streams, and the PBX's steady rate, of the SSE fan-out run. */
  readonly sseStreams: number;
  readonly sseRate: number;
  /** Clients (spread over three nodes) and the PBX's steady rate of the cluster run. */
  readonly clusterClients: number;
  readonly clusterRate: number;
  /** Where the children write CPU profiles (node --cpu-prof), if anywhere. */
  readonly profileDir: string | undefined;
}

export type Log = (line: string) => void;

/** Everything started so far, so that a failure anywhere still kills it all. */
export class Scope {
  private readonly children = new Set<BenchChild>();
  private readonly clients = new Set<{ close(): void }>();
  /** Run last, once the children are gone (what they depend on, e.g. a NATS server). */
  private readonly last = new Set<() => void>();

  async fork(name: string, script: string, execArgv: readonly string[]): Promise<BenchChild> {
    const child = await BenchChild.fork(name, new URL(script, import.meta.url), [...execArgv]);
    this.children.add(child);
    return child;
  }

  /** `end` is called after every child has ended (by release() or killNow()). */
  atEnd(end: () => void): void {
    this.last.add(end);
  }

  track<T extends { close(): void }>(items: T[]): T[] {
    for (const c of items) this.clients.add(c);
    return items;
  }

  /** Closes every client and ends every child (gracefully, briefly). Idempotent. */
  async release(): Promise<void> {
    this.closeClients();
    const children = [...this.children];
    this.children.clear();
    await Promise.all(children.map((c) => c.kill('stop')));
    this.runLast();
  }

  /** For exit paths that cannot wait. */
  killNow(): void {
    this.closeClients();
    for (const c of this.children) c.killNow();
    this.runLast();
  }

  private runLast(): void {
    const last = [...this.last];
    this.last.clear();
    for (const end of last) end();
  }

  private closeClients(): void {
    for (const c of this.clients) c.close();
    this.clients.clear();
  }
}

export interface Target {
  readonly sim: BenchChild;
  readonly proxy: BenchChild | undefined;
  /** The bare relay, when measuring through it. */
  readonly relay?: BenchChild;
  /** Where the measuring clients connect: the PBX, or amiplex. */
  readonly port: number;
  readonly credentials: Credentials;
}

/**
 * A PBX child generating `rate` events per second, and amiplex (or the bare relay) in front of
 * it when `via` says so. `label` names the CPU profiles when profiling.
 */
export async function startTarget(scope: Scope, via: Via, rate: number, settings: Settings, label: string, proxyArgv: readonly string[] = [], proxyOptions: { http?: boolean } = {}): Promise<Target> {
  const profile = (who: string): string[] =>
    settings.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${settings.profileDir}`, `--cpu-prof-name=${label}-${who}.cpuprofile`];
  const sim = await scope.fork('simulated PBX', './sim-child.js', profile('pbx'));
  const simPort = await sim.request<number>('start', { rate });
  if (via === 'direct') return { sim, proxy: undefined, port: simPort, credentials: SIM_ADMIN };
  if (via === 'relay') {
    const relay = await scope.fork('bare relay', './relay-child.js', profile('relay'));
    return { sim, proxy: undefined, relay, port: await relay.request<number>('start', { simPort }), credentials: BENCH_USER };
  }
  const proxy = await scope.fork('amiplex', './proxy-child.js', [...profile('amiplex'), ...proxyArgv]);
  const port = await proxy.request<number>('start', { simPort, ...BENCH_USER, ...proxyOptions });
  return { sim, proxy, port, credentials: BENCH_USER };
}
