/**
 * Action round trip: one client sends Pings one at a time (the next when the answer is in)
 * and times each, straight to the PBX or through amiplex, with the PBX idle or generating
 * background traffic that the client receives too.
 */
import { cpuPercent, cpuReading, type CpuReading } from './ipc.js';
import { fmtMs, machineBusyMs, percentile } from './numbers.js';
import type { ProxyChildStats, SimChildStats } from './protocol.js';
import { PingClient } from './raw-clients.js';
import { startTarget, type Log, type Scope, type Settings, type Target, type Via } from './setup.js';

export interface RttResult {
  readonly via: Via;
  /** The PBX's background traffic, events per second. */
  readonly rate: number;
  /** Round trips in ms, ascending. */
  readonly samples: number[];
  /** CPU used by other processes on the machine meanwhile, % of one core. */
  readonly otherCpu: number;
  /** How long amiplex's event loop was blocked at most meanwhile (ms). */
  readonly proxyLoopDelayMaxMs: number | undefined;
}

export async function roundTrip(scope: Scope, via: Via, rate: number, s: Settings, log: Log): Promise<RttResult> {
  const t = await startTarget(scope, via, rate, s, `rtt-${rate}-${via}`);
  const [client] = scope.track([await PingClient.open(t.port, t.credentials)]);
  for (let i = 0; i < s.pingWarmup; i++) await client!.ping();
  const before = await snapshot(t, true);
  const samples: number[] = [];
  for (let i = 0; i < s.pings; i++) samples.push(await client!.ping());
  const after = await snapshot(t, false);
  samples.sort((a, b) => a - b);
  const result: RttResult = { via, rate, samples, otherCpu: otherLoad(before, after), proxyLoopDelayMaxMs: after.proxyLoopDelayMaxMs };
  const loop = result.proxyLoopDelayMaxMs === undefined ? '' : `; amiplex event-loop delay max ${fmtMs(result.proxyLoopDelayMaxMs)} ms`;
  log(
    `  ${via.padEnd(7)} PBX at ${rate} ev/s: p50 ${fmtMs(percentile(samples, 50))} ms, p99 ${fmtMs(percentile(samples, 99))} ms, ` +
      `max ${fmtMs(samples.at(-1)!)} ms; other CPU ${Math.round(result.otherCpu)}%${loop}`,
  );
  await scope.release();
  return result;
}

interface Snapshot {
  readonly main: CpuReading;
  readonly sim: CpuReading;
  readonly proxy: CpuReading | undefined;
  readonly busy: number;
  readonly proxyLoopDelayMaxMs: number | undefined;
}

/** CPU readings of every process; `resetLoopDelay` starts amiplex's event-loop delay histogram afresh. */
async function snapshot(t: Target, resetLoopDelay: boolean): Promise<Snapshot> {
  const [sim, proxy] = await Promise.all([t.sim.request<SimChildStats>('stats'), t.proxy?.request<ProxyChildStats>('stats', resetLoopDelay)]);
  return { main: cpuReading(), sim: sim.cpu, proxy: proxy?.cpu, busy: machineBusyMs(), proxyLoopDelayMaxMs: proxy?.loopDelayMaxMs };
}

/** CPU that processes other than the benchmark's used between two snapshots, % of one core. */
function otherLoad(a: Snapshot, b: Snapshot): number {
  const machine = ((b.busy - a.busy) / (b.main.at - a.main.at)) * 100;
  const ours = cpuPercent(a.main, b.main) + cpuPercent(a.sim, b.sim) + (a.proxy && b.proxy ? cpuPercent(a.proxy, b.proxy) : 0);
  return Math.max(0, machine - ours);
}
