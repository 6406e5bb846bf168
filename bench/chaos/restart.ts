/**
 * The PBX killed (SIGKILL) and restarted on the same port, again and again, while clients keep
 * actions in flight: every action must be answered exactly once (by the PBX, or by amiplex with
 * an error while the PBX is away), never to another client, and every client must stay
 * connected and see each ProxyServerDown and ProxyServerUp.
 */
import { performance } from 'node:perf_hooks';
import type { AmiHeader } from '../../src/ami/message.js';
import type { Scope } from '../setup.js';
import { tally, type ChaosClient } from './ami-client.js';
import { ActionLoad, check, client, ms, quantile, sleep, startAmiplex, startSim, waitFor, type ChaosSettings, type Log, type ScenarioResult } from './common.js';

const ACTIONS: AmiHeader[][] = [[['Action', 'Ping']], [['Action', 'GetVar'], ['Variable', 'CHAOS']], [['Action', 'CoreShowChannels']]];

export async function restartScenario(scope: Scope, s: ChaosSettings, log: Log): Promise<ScenarioResult> {
  const kills = s.short ? 3 : 20;
  const clients = s.short ? 6 : 20;
  const window = 5;
  const rate = s.short ? 100 : 400;
  let sim = await startSim(scope, rate);
  const amiplex = await startAmiplex(scope, sim.port, { general: ['action_timeout = 5'], server: ['reconnect_min = 0.05', 'reconnect_max = 0.3', 'connect_timeout = 2'] });
  const cs: ChaosClient[] = [];
  for (let i = 0; i < clients; i++) cs.push(await client(amiplex.port, `r${i}`, 'on'));
  const load = new ActionLoad(cs, window, (n) => ACTIONS[n % ACTIONS.length]!);
  const recovery: number[] = [];
  try {
    await sleep(500);
    for (let k = 1; k <= kills; k++) {
      const port = sim.port;
      const killedAt = performance.now();
      await sim.child.kill();
      await waitFor(() => cs.every((c) => c.serverDown >= k), 10_000, `every client to see ProxyServerDown #${k}`);
      sim = await startSim(scope, rate, port);
      await waitFor(() => cs.every((c) => c.serverUp >= k), 15_000, `every client to see ProxyServerUp #${k}`);
      recovery.push(performance.now() - killedAt);
      log(`  PBX killed and back: ${k} of ${kills}`);
      await sleep(s.short ? 300 : 700);
    }
  } finally {
    await load.stop();
  }
  const ok = load.fromPbx;
  const errors = load.errors;
  const t = tally(cs);
  const stats = await amiplex.stats();
  const stayed = cs.filter((c) => !c.closed).length;
  for (const c of cs) c.close();
  return {
    name: 'restart',
    title: 'PBX killed and restarted under load',
    setup: `${clients} clients (events on) each keep ${window} actions in flight (Ping, GetVar, CoreShowChannels) while the simulated PBX (${rate} events/s) is killed with SIGKILL and started again on the same port, ${kills} times.`,
    figures: {
      'PBX kills': kills,
      'actions sent': t.sent,
      'answered by the PBX': ok,
      'answered with an error (PBX away)': errors,
      'not answered': t.unanswered,
      'answered twice or more': t.duplicated,
      'answers to another client': t.misrouted,
      'clients disconnected': t.disconnected,
      'kill to ProxyServerUp, median': ms(quantile(recovery, 0.5)),
      'kill to ProxyServerUp, max': ms(Math.max(...recovery)),
      'amiplex upstream at the end': stats.upstream,
    },
    checks: [
      check('every action answered exactly once', t.unanswered === 0 && t.duplicated === 0, `${t.sent} sent, ${t.unanswered} unanswered, ${t.duplicated} answered more than once`),
      check('no answer to another client', t.misrouted === 0, `${t.misrouted} misrouted`),
      check('clients stay connected', stayed === clients, `${stayed} of ${clients} connected`),
      check('each kill seen as ProxyServerDown then ProxyServerUp', cs.every((c) => c.serverDown === kills && c.serverUp === kills), `down/up per client: ${[...new Set(cs.map((c) => `${c.serverDown}/${c.serverUp}`))].join(', ')}`),
      check('the PBX answered actions between the kills', ok > 0, `${ok} answered by the PBX`),
    ],
    targets: [],
  };
}
