/**
 * What every chaos scenario shares: its settings (full or short), its result (figures, checks
 * that must hold, targets that are reported), amiplex and the simulated PBX in child processes
 * (bench/ipc.ts), and a latency probe — a client that keeps asking amiplex something only
 * amiplex answers (ProxyListServers) and times each round trip.
 */
import { performance } from 'node:perf_hooks';
import type { BenchChild } from '../ipc.js';
import { getHeader, type AmiHeader } from '../../src/ami/message.js';
import { BENCH_USER, type ProxyChildStats, type ProxyStart } from '../protocol.js';
import type { Scope } from '../setup.js';
import { ChaosClient } from './ami-client.js';

export interface ChaosSettings {
  /** The short version (npm test): smaller numbers, same checks. */
  readonly short: boolean;
}

export interface Check {
  readonly what: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface Target {
  readonly what: string;
  readonly met: boolean;
  readonly measured: string;
}

export interface ScenarioResult {
  readonly name: string;
  readonly title: string;
  /** What was done, in a sentence or two. */
  readonly setup: string;
  /** Label → value, in order, for the report and the JSON. */
  readonly figures: Record<string, number | string>;
  /** Must hold: a failed check fails the run (and npm test). */
  readonly checks: Check[];
  /** Goals the figures are compared with; a missed one is reported, not a failure (timings on a shared machine). */
  readonly targets: Target[];
}

export type Log = (line: string) => void;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function check(what: string, ok: boolean, detail: string): Check {
  return { what, ok, detail };
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** The q-quantile (0…1) of some numbers, or NaN when there are none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export const ms = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : '–');
export const mb = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MB`;

export interface SimHandle {
  readonly child: BenchChild;
  readonly port: number;
}

/** A simulated PBX in a child process (on `port` when given: a restart where the last one was). */
export async function startSim(scope: Scope, rate: number, port?: number): Promise<SimHandle> {
  const child = await scope.fork('simulated PBX', './sim-child.js', []);
  const bound = await child.request<number>('start', { rate, ...(port === undefined ? {} : { port }) });
  return { child, port: bound };
}

export interface ProxyHandle {
  readonly child: BenchChild;
  /** Its raw AMI listener. */
  readonly port: number;
  readonly httpPort: number | undefined;
  stats(): Promise<ProxyChildStats>;
}

/** amiplex in a child process in front of the PBX at `pbxPort`, with more proxy.conf lines. */
export async function startAmiplex(scope: Scope, pbxPort: number, extra: Omit<ProxyStart, 'simPort' | 'username' | 'secret'> = {}, execArgv: string[] = []): Promise<ProxyHandle> {
  const child = await scope.fork('amiplex', './proxy-child.js', execArgv);
  const port = await child.request<number>('start', { simPort: pbxPort, ...BENCH_USER, ...extra });
  const httpPort = extra.http === true ? await child.request<number>('httpPort') : undefined;
  return { child, port, httpPort, stats: () => child.request<ProxyChildStats>('stats', false) };
}

/** Logs in as the benchmark user. */
export function client(port: number, name: string, events: 'on' | 'off' = 'off'): Promise<ChaosClient> {
  return ChaosClient.open(port, BENCH_USER, name, events);
}

/**
 * Asks ProxyListServers (answered by amiplex alone, whatever the PBX does) every `everyMs`,
 * one at a time, and keeps each round trip with the time it was sent.
 */
export class LatencyProbe {
  readonly samples: Array<{ at: number; ms: number }> = [];
  failures = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    readonly client: ChaosClient,
    everyMs = 10,
  ) {
    this.done = (async () => {
      while (this.running && !client.closed) {
        const at = performance.now();
        try {
          const { ms } = await client.request([['Action', 'ProxyListServers']], 30_000);
          this.samples.push({ at, ms });
        } catch {
          this.failures++;
        }
        await sleep(everyMs);
      }
    })();
  }

  /** Round trips of the probes under way at some point from `from` to `to` (performance.now() readings). */
  between(from: number, to: number): number[] {
    return this.samples.filter((s) => s.at <= to && s.at + s.ms >= from).map((s) => s.ms);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/**
 * Each client keeps `window` actions in flight (`action(n)` gives the n-th) until stopped. An
 * answer that is an error — often the PBX is away, and then it comes at once — makes that slot
 * wait 50 ms before its next action. Counts the answers that came from the PBX and the errors.
 */
export class ActionLoad {
  fromPbx = 0;
  errors = 0;
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(clients: readonly ChaosClient[], window: number, action: (n: number) => AmiHeader[]) {
    this.loops = clients.map(async (c) => {
      let n = 0;
      const inFlight = new Set<Promise<void>>();
      while (this.running && !c.closed) {
        while (inFlight.size < window && this.running) {
          const p = c.request(action(n++), 20_000).then(
            async ({ answer }) => {
              if (getHeader(answer, 'Response') !== 'Error') return void this.fromPbx++;
              this.errors++;
              await sleep(50);
            },
            () => undefined,
          );
          inFlight.add(p);
          void p.finally(() => inFlight.delete(p));
        }
        await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    });
  }

  /** Sends no more; resolves once every action in flight is answered (or given up on). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}
