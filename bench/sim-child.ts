/**
 * Benchmark child: the simulated PBX in a process of its own, driven by bench/run.ts.
 *
 * `mark` is how the benchmark counts exactly: it writes out every event queued so far, reads
 * how many events the PBX has generated, then publishes one marker event (a UserEvent naming
 * the tag) to every session. Events a client receives between two markers must therefore
 * number exactly `before(second) - before(first) - 1`.
 */
import { SimulatedPbx } from '../src/sim/index.js';
import { PERM } from '../src/sim/permissions.js';
import { cpuReading, serve } from './ipc.js';
import { markerLine, PROBE_MS, probeLine, wallMs, type SimChildStats, type SimStart } from './protocol.js';

let pbx: SimulatedPbx | undefined;
let probeTimer: NodeJS.Timeout | undefined;

function running(): SimulatedPbx {
  if (!pbx) throw new Error('the PBX is not started');
  return pbx;
}

serve({
  async start(arg: SimStart): Promise<number> {
    if (pbx) throw new Error('already started');
    pbx = new SimulatedPbx({ port: arg.port ?? 0, rate: arg.rate });
    const { port } = await pbx.start();
    return port;
  },
  flood(on: boolean): void {
    running().flood(on);
  },
  rate(eventsPerSecond: number): void {
    running().setRate(eventsPerSecond);
  },
  /**
   * Latency probes on or off: every PROBE_MS a UserEvent `BenchProbe` whose `SentAt` is the wall
   * clock in ms (performance.timeOrigin + now(), which other processes on the machine share).
   * They are events like any other (counted between markers).
   */
  probes(on: boolean): void {
    clearInterval(probeTimer);
    if (!on) return;
    const p = running();
    probeTimer = setInterval(() => {
      const at = wallMs().toFixed(3);
      p.publish([{ cat: PERM.user, text: `Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: BenchProbe\r\n${probeLine(at)}\r\n` }]);
    }, PROBE_MS);
  },
  mark(tag: string): number {
    const p = running();
    p.flushEvents();
    const before = p.stats.eventsGenerated;
    p.publish([{ cat: PERM.user, text: `Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: BenchMark\r\n${markerLine(tag)}\r\n` }]);
    return before;
  },
  stats(): SimChildStats {
    const p = running();
    return {
      eventsGenerated: p.stats.eventsGenerated,
      sessions: p.sessionCount,
      internalErrors: p.internalErrors.length,
      rss: process.memoryUsage.rss(),
      cpu: cpuReading(),
    };
  },
  async stop(): Promise<void> {
    await pbx?.stop();
  },
});
