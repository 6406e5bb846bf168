/**
 * Thousands of logged-in clients that stop reading while the PBX keeps sending events, against
 * client_buffer_total: amiplex's RSS above its level with the same clients idle must stay under
 * 1.5x the budget, and come back near where it started once the clients are gone.
 */
import net from 'node:net';
import { BENCH_USER, type MemoryReport } from '../protocol.js';
import type { Scope } from '../setup.js';
import { openSocket } from './ami-client.js';
import { check, mb, sleep, startAmiplex, startSim, type ChaosSettings, type Log, type ScenarioResult } from './common.js';

const MIB = 1024 * 1024;

/** A raw client logged in with events on: it reads until told to stop. */
async function reader(port: number): Promise<net.Socket> {
  const socket = await openSocket(port);
  await new Promise<void>((resolve, reject) => {
    let got = '';
    const timer = setTimeout(() => reject(new Error('no answer to Login within 15 s')), 15_000);
    const onData = (d: Buffer): void => {
      got += d.toString('latin1');
      if (!got.includes('Authentication accepted')) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.on('data', () => undefined);
      resolve();
    };
    socket.on('data', onData);
    socket.write(`Action: Login\r\nUsername: ${BENCH_USER.username}\r\nSecret: ${BENCH_USER.secret}\r\nEvents: on\r\n\r\n`);
  });
  return socket;
}

export async function memoryScenario(scope: Scope, s: ChaosSettings, log: Log): Promise<ScenarioResult> {
  // Short: fewer clients, more events each, so the kernel's socket buffers fill within seconds too.
  const n = s.short ? 50 : 3000;
  const budgetMiB = s.short ? 4 : 64;
  const budget = budgetMiB * MIB;
  const rate = s.short ? 2000 : 400;
  const loadMs = s.short ? 6000 : 30_000;
  const sim = await startSim(scope, 0);
  const amiplex = await startAmiplex(scope, sim.port, { general: [`client_buffer_total = ${budgetMiB}M`, `client_buffer_max = ${Math.min(16, budgetMiB)}M`, `authlimit = ${n}`] }, ['--expose-gc']);
  const memory = (): Promise<MemoryReport> => amiplex.child.request<MemoryReport>('memory', s.short ? 500 : 2000);
  const start = await memory();
  const sockets: net.Socket[] = [];
  for (let i = 0; i < n; i += 50) sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => reader(amiplex.port)))));
  const idle = await memory();
  log(`  ${n} clients logged in: RSS ${mb(idle.rss)} (${mb(start.rss)} with none)`);
  for (const socket of sockets) {
    socket.removeAllListeners('data');
    socket.pause();
  }
  await sim.child.request('rate', rate);
  let peak = idle.rss;
  let peakQueued = 0;
  let shed = 0;
  const until = Date.now() + loadMs;
  while (Date.now() < until) {
    await sleep(250);
    const st = await amiplex.stats();
    peak = Math.max(peak, st.rss);
    peakQueued = Math.max(peakQueued, st.budgetTotal);
    shed = st.slowClientsDropped;
  }
  await sim.child.request('rate', 0);
  const clientsLeft = (await amiplex.stats()).clients;
  for (const socket of sockets) socket.destroy();
  // Freed memory goes back to the system over some seconds: read until it settles (at most 5 readings).
  await sleep(1000);
  let after = await memory();
  for (let i = 0; i < 4; i++) {
    const next = await memory();
    const settled = Math.abs(next.rss - after.rss) < MIB;
    after = next;
    if (settled) break;
  }
  log(`  peak RSS ${mb(peak)} (+${mb(peak - idle.rss)} over idle, budget ${budgetMiB} MiB); ${shed} clients shed; after: ${mb(after.rss)}`);
  const above = peak - idle.rss;
  const back = after.rss - start.rss;
  return {
    name: 'memory',
    title: 'Clients that stop reading, against client_buffer_total',
    setup: `${n.toLocaleString('en-US')} raw AMI clients log in with events on, then stop reading while the PBX sends ${rate} events/s for ${loadMs / 1000} s; client_buffer_total = ${budgetMiB}M (client_buffer_max ${Math.min(16, budgetMiB)}M, the rest default). RSS is read every 250 ms, and after a full GC before and after.`,
    figures: {
      'amiplex RSS with no client': mb(start.rss),
      [`RSS with the ${n.toLocaleString('en-US')} clients idle`]: mb(idle.rss),
      'peak RSS while they did not read': mb(peak),
      'peak above idle': `${mb(above)} (${(above / budget).toFixed(2)}x the budget)`,
      'most output client_buffer_total counted at once': mb(peakQueued),
      'clients disconnected as over the budget or slow': shed,
      'clients left at the end': clientsLeft,
      'RSS once the clients are gone': `${mb(after.rss)} (${back >= 0 ? '+' : ''}${mb(back)} from the start)`,
    },
    checks: [
      check('RSS above idle bounded by the budget (3x with a margin)', above < 3 * budget + 32 * MIB, `${mb(above)} above idle, budget ${budgetMiB} MiB`),
      check('output counted held to the budget', peakQueued <= budget, `${mb(peakQueued)} at most`),
      check('RSS back near the start once the clients are gone', back < Math.max(budget, 32 * MIB), `${mb(back)} from the start`),
      check('the budget came into play (clients shed)', shed > 0, `${shed} clients disconnected`),
    ],
    targets: [
      { what: 'RSS above idle under 1.5x client_buffer_total', met: above < 1.5 * budget, measured: `${(above / budget).toFixed(2)}x` },
    ],
  };
}
