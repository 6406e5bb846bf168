/**
 * A hostile PBX (hostile-pbx.ts) behind amiplex while clients keep actions in flight: every
 * action must still be answered exactly once — by the PBX when it answers properly, by amiplex
 * with an error when it does not (timeout, unfinished list, unreadable reply, PBX gone) — never
 * to another client, and the clients stay connected.
 */
import { getHeader } from '../../src/ami/message.js';
import type { Scope } from '../setup.js';
import { tally, type ChaosClient } from './ami-client.js';
import { ActionLoad, check, client, sleep, startAmiplex, waitFor, type ChaosSettings, type Log, type ScenarioResult } from './common.js';
import { HostilePbx, MISBEHAVIOURS } from './hostile-pbx.js';

export async function hostileScenario(scope: Scope, s: ChaosSettings, log: Log): Promise<ScenarioResult> {
  const clients = s.short ? 3 : 8;
  const window = 3;
  const durationMs = s.short ? 6000 : 30_000;
  const pbx = new HostilePbx();
  const port = await pbx.start();
  try {
    const amiplex = await startAmiplex(scope, port, {
      general: ['action_timeout = 2', 'eventlist_timeout = 3'],
      server: ['reconnect_min = 0.05', 'reconnect_max = 0.3', 'connect_timeout = 2', 'keepalive = 1', 'keepalive_timeout = 2'],
    });
    const cs: ChaosClient[] = [];
    for (let i = 0; i < clients; i++) cs.push(await client(amiplex.port, `h${i}`, 'on'));
    const load = new ActionLoad(cs, window, () => [['Action', 'Ping']]);
    await sleep(durationMs);
    await load.stop();
    const { fromPbx, errors: fromAmiplex } = load;
    const t = tally(cs);
    // amiplex itself still answers, and so does the PBX session once it is back.
    await waitFor(() => cs.every((c) => !c.closed), 1000, 'clients to be connected').catch(() => undefined);
    const alive = await cs[0]!.request([['Action', 'ProxyListServers']], 10_000).then(
      ({ answer }) => (getHeader(answer, 'Response') === 'Error' ? `error: ${getHeader(answer, 'Message')}` : 'answered'),
      (err: unknown) => String(err),
    );
    const stats = await amiplex.stats();
    log(`  ${t.sent} actions, ${fromPbx} answered by the PBX, ${fromAmiplex} by amiplex with an error; ${pbx.connections} connections from amiplex`);
    const stayed = cs.filter((c) => !c.closed).length;
    for (const c of cs) c.close();
    return {
      name: 'hostile',
      title: 'A hostile PBX',
      setup: `${clients} clients keep ${window} Pings in flight for ${durationMs / 1000} s through amiplex to a PBX whose answers go wrong in turn (${MISBEHAVIOURS.join(', ')}) and whose reconnections alternate good banners with a banner that is not AMI, 3000 random bytes, and a refused login. action_timeout = 2, eventlist_timeout = 3.`,
      figures: {
        'actions sent': t.sent,
        'answered by the PBX': fromPbx,
        'answered by amiplex with an error': fromAmiplex,
        'not answered': t.unanswered,
        'answered twice or more': t.duplicated,
        'answers to another client': t.misrouted,
        'misbehaviours played': [...pbx.done].map(([k, v]) => `${k} ${v}`).join(', '),
        'connections from amiplex (refused: bad banner or login)': `${pbx.connections} (${pbx.refusedConnections})`,
        'clients disconnected': t.disconnected,
        'amiplex upstream at the end': stats.upstream,
      },
      checks: [
        check('every action answered exactly once', t.unanswered === 0 && t.duplicated === 0, `${t.sent} sent, ${t.unanswered} unanswered, ${t.duplicated} answered more than once`),
        check('no answer to another client (nor the stranger\'s)', t.misrouted === 0, `${t.misrouted} misrouted`),
        check('clients stay connected', stayed === clients, `${stayed} of ${clients}`),
        check('amiplex still answers', alive === 'answered', `ProxyListServers: ${alive}`),
        check('every misbehaviour was played', MISBEHAVIOURS.every((m) => (pbx.done.get(m) ?? 0) > 0), [...pbx.done.keys()].join(', ')),
      ],
      targets: [],
    };
  } finally {
    pbx.stop();
  }
}
