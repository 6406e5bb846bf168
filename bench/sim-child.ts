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
import { performance } from 'node:perf_hooks';
import { cpuReading, serve } from './ipc.js';
import { markerLine, PROBE_MS, probeLine, type SimChildStats, type SimStart } from './protocol.js';

let pbx: SimulatedPbx | undefined;
let probeTimer: NodeJS.Timeout | undefined;
let probesLate: number[] = [];

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
   * Latency probes on or off: a UserEvent `BenchProbe` due every PROBE_MS on average, whose
   * `SentAt` is the wall clock in ms (performance.timeOrigin + now(), which other processes on the
   * machine share) at the instant it was due, not the instant this process got round to it: a
   * real PBX's event happens when it happens, and whatever it then waits for — this process busy
   * writing the events before it to a hundred sessions, say — is part of its latency. Probes due
   * while the process was busy are all published, in order, as soon as it is free. They are
   * events like any other (counted between markers). Off: how late each probe was published
   * after it was due (ms).
   */
  probes(on: boolean): number[] | undefined {
    clearTimeout(probeTimer);
    probeTimer = undefined;
    const late = probesLate;
    probesLate = [];
    if (!on) return late;
    const p = running();
    // Random gaps (PROBE_MS on average): a fixed one would keep the probes at one phase of the
    // PBX's 10 ms tick for a whole run, always just behind its batch or always clear of it.
    const gap = (): number => PROBE_MS * (0.5 + Math.random());
    let due = performance.now() + gap();
    const fire = (): void => {
      const now = performance.now();
      while (due <= now) {
        const at = (performance.timeOrigin + due).toFixed(3);
        p.publish([{ cat: PERM.user, text: `Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: BenchProbe\r\n${probeLine(at)}\r\n` }]);
        probesLate.push(now - due);
        due += gap();
      }
      probeTimer = setTimeout(fire, due - now);
    };
    probeTimer = setTimeout(fire, due - performance.now());
    return undefined;
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
